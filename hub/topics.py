"""Names of the contract v1 topics, derived from one configurable prefix."""

from __future__ import annotations

from dataclasses import dataclass

DOMAINS = ("safety", "security", "service")


@dataclass(frozen=True)
class Topics:
    prefix: str = "onenet"

    def events(self, domain: str) -> str:
        if domain not in DOMAINS:
            raise ValueError(f"unknown domain {domain!r}; expected one of {', '.join(DOMAINS)}")
        return f"{self.prefix}.events.{domain}"

    @property
    def safety(self) -> str:
        return self.events("safety")

    @property
    def security(self) -> str:
        return self.events("security")

    @property
    def service(self) -> str:
        return self.events("service")

    @property
    def alerts(self) -> str:
        return f"{self.prefix}.alerts"

    @property
    def commands(self) -> str:
        return f"{self.prefix}.alerts.commands"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}.deadletter"

    @property
    def sites(self) -> str:
        """Reference data: one record per site, keyed by its id (compacted)."""
        return f"{self.prefix}.reference.sites"

    def all(self) -> list[str]:
        """Every contract topic, in a stable order."""
        return [
            *(self.events(d) for d in DOMAINS),
            self.alerts,
            self.commands,
            self.deadletter,
            self.sites,
        ]
