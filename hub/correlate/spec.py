"""Rule files as data: the models a YAML rule is validated against.

Each rule kind is one model; `Rule` is their union, told apart by `kind`. Every model forbids
unknown keys, so a typo in a rule file is an error with its line, not a silently ignored
setting.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.alerts.model import Severity
from hub.correlate.match import Condition, Match
from hub.correlate.units import Distance, Duration

RULE_NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"
CapCategory = Literal[
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Escalation(_Spec):
    """Raise an open alert's severity when a condition meets it.

    `any` tests the alert's own evidence (some contributing event satisfies the conditions);
    `event` waits for another event with the same key while the alert is open.
    """

    severity: Severity
    any: dict[str, Condition] | None = None
    event: Match | None = None

    @model_validator(mode="after")
    def _one_trigger(self) -> Escalation:
        if (self.any is None) == (self.event is None):
            raise ValueError("an escalation needs exactly one of `any` or `event`")
        return self


class _Rule(_Spec):
    name: str = Field(pattern=RULE_NAME)
    description: str = ""
    severity: Severity
    category: CapCategory
    departments: list[str] = Field(min_length=1)
    #: data fields whose values are departments too (a request's own `department`)
    departments_from: list[str] = Field(default_factory=list)
    headline: str = Field(min_length=1, max_length=300)
    #: the headline in Chinese (zh-CN); the alert's `headline_zh`
    headline_zh: str | None = Field(default=None, min_length=1, max_length=300)
    #: a longer text for the alert's `description` (and `description_zh`)
    summary: str | None = Field(default=None, min_length=1, max_length=1000)
    summary_zh: str | None = Field(default=None, min_length=1, max_length=1000)
    escalate: list[Escalation] = Field(default_factory=list)
    enabled: bool = True

    #: names a headline template may use, beyond `key` and `rule`
    template_fields: ClassVar[frozenset[str]] = frozenset()

    def selectors(self) -> list[Match]:
        """Every selector of the rule, escalation events included."""
        return [e.event for e in self.escalate if e.event is not None]

    def event_types(self) -> frozenset[str]:
        """The event types this rule can use at all: the rest never reach its engine."""
        return frozenset(t for m in self.selectors() for t in m.type)

    def templates(self) -> dict[str, str]:
        """The rule's text templates by field name."""
        named = {
            "headline": self.headline,
            "headline_zh": self.headline_zh,
            "summary": self.summary,
            "summary_zh": self.summary_zh,
        }
        return {k: v for k, v in named.items() if v is not None}

    @model_validator(mode="after")
    def _template_fields(self) -> _Rule:
        from hub.correlate.eventfields import fields_of
        from hub.correlate.text import TemplateError, check

        event_fields = fields_of(self.event_types())
        for name, template in self.templates().items():
            try:
                check(template, self.template_fields, event_fields)
            except TemplateError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return self


class Window(_Spec):
    size: Duration
    type: Literal["sliding", "tumbling"] = "sliding"

    @field_validator("size")
    @classmethod
    def _positive(cls, v: timedelta) -> timedelta:
        if v <= timedelta(0):
            raise ValueError("must be longer than zero")
        return v


class Aggregate(_Spec):
    fn: Literal["count", "distinct", "sum"] = "count"
    field: str | None = None

    @model_validator(mode="after")
    def _field_when_needed(self) -> Aggregate:
        if self.fn != "count" and not self.field:
            raise ValueError(f"`{self.fn}` needs a `field`")
        return self


class ThresholdRule(_Rule):
    """At least `threshold` of an aggregate over a window, per group."""

    kind: Literal["threshold"]
    match: Match
    group_by: list[str] = Field(min_length=1)
    window: Window
    aggregate: Aggregate = Aggregate()
    threshold: float = Field(gt=0)
    template_fields: ClassVar[frozenset[str]] = frozenset({"value", "threshold", "window", "max"})

    def selectors(self) -> list[Match]:
        return [self.match, *super().selectors()]

    @field_validator("group_by", mode="before")
    @classmethod
    def _one_or_many(cls, v: object) -> object:
        return [v] if isinstance(v, str) else v


class SequenceRule(_Rule):
    """Steps in order for one key within `within`; optionally "not followed by" a final event."""

    kind: Literal["sequence"]
    key: str
    steps: list[Match] = Field(min_length=1)
    within: Duration
    not_followed_by: Match | None = None
    template_fields: ClassVar[frozenset[str]] = frozenset({"within"})

    def selectors(self) -> list[Match]:
        negation = [self.not_followed_by] if self.not_followed_by else []
        return [*self.steps, *negation, *super().selectors()]

    @model_validator(mode="after")
    def _shape(self) -> SequenceRule:
        if len(self.steps) < 2 and self.not_followed_by is None:
            raise ValueError("a sequence needs two or more steps, or one step and not_followed_by")
        return self


class Deadline(_Spec):
    """When the expected event is due: a time field of the start event, plus an offset."""

    field: str | None = None
    plus: Duration = timedelta(0)


class AbsenceRule(_Rule):
    """An expected event missing by a deadline computed from the event that started the wait."""

    kind: Literal["absence"]
    key: str
    start: Match
    expect: Match
    match_on: list[str] = Field(default_factory=list)
    deadline: Deadline
    template_fields: ClassVar[frozenset[str]] = frozenset({"deadline", "subject"})

    def selectors(self) -> list[Match]:
        return [self.start, self.expect, *super().selectors()]


class Member(_Spec):
    role: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    match: Match


class ColocationRule(_Rule):
    """Events of the given roles within `distance` and `within` of each other."""

    kind: Literal["colocation"]
    members: list[Member] = Field(min_length=1)
    require: dict[str, int] = Field(min_length=1)
    distance: Distance
    within: Duration
    template_fields: ClassVar[frozenset[str]] = frozenset({"distance", "within", "cell"})

    def selectors(self) -> list[Match]:
        return [*(m.match for m in self.members), *super().selectors()]

    @model_validator(mode="after")
    def _roles(self) -> ColocationRule:
        roles = {m.role for m in self.members}
        unknown = sorted(set(self.require) - roles)
        if unknown:
            raise ValueError(f"require names unknown role(s) {', '.join(unknown)}")
        if any(n < 1 for n in self.require.values()):
            raise ValueError("every required count must be at least 1")
        if sum(self.require.values()) < 2:
            raise ValueError("co-location needs at least two events in all")
        if self.distance <= 0 or self.distance > 50_000:
            raise ValueError("distance must be above 0 and at most 50km")
        return self


Rule = Annotated[
    ThresholdRule | SequenceRule | AbsenceRule | ColocationRule, Field(discriminator="kind")
]


class RulePack(_Spec):
    name: str = Field(pattern=RULE_NAME)
    description: str = ""
    lateness: Duration = timedelta(minutes=5)
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> RulePack:
        seen: set[str] = set()
        for r in self.rules:
            if r.name in seen:
                raise ValueError(f"rule name {r.name!r} is used twice")
            seen.add(r.name)
        return self
