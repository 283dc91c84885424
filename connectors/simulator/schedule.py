"""When each scenario of a run starts: `NAME` / `NAME@SECONDS` entries, the demo mix, and the
plan that builds every instance with resources that do not collide."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connectors.sdk.item import Draft
from connectors.simulator.city import City
from connectors.simulator.drafts import time_of
from connectors.simulator.resources import Busy, Resources
from connectors.simulator.scenarios import SCENARIOS, Context, Injection
from connectors.simulator.truth import GroundTruth

#: Wall-clock seconds after the start; the leak comes first so a demo shows an alert at once.
DEMO_MIX: tuple[tuple[str, float], ...] = (
    ("leak", 2),
    ("incident-burst", 12),
    ("leak-near-crowd", 25),
    ("service-hotspot", 40),
    ("overdue-inspection", 55),
    ("sla-breach", 70),
    ("hazard-near-crowd", 85),
    ("overdue-escalation", 100),
    ("sla-breach", 115),
)
FIRST_AT_S = 2.0
EVERY_S = 15.0
NONE = "none"
#: A scenario moves at most this many times to find free stations (each move ends a use).
MAX_MOVES = 1000
DEMO = "demo"


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    name: str
    #: wall-clock seconds after the start of the run (times `time_scale` in event time)
    at_s: float


def parse_specs(entries: Sequence[str] | None) -> list[ScenarioSpec]:
    """`NAME` or `NAME@SECONDS` entries; none given means the demo mix, `none` means no
    scenario. Entries without a time follow each other every 15 s from 2 s on."""
    if not entries:
        entries = [DEMO]
    specs: list[ScenarioSpec] = []
    untimed = 0
    for entry in entries:
        name, sep, at = entry.strip().partition("@")
        if name == NONE and not sep:
            continue
        if name == DEMO and not sep:
            specs += [ScenarioSpec(n, s) for n, s in DEMO_MIX]
            continue
        if name not in SCENARIOS:
            known = ", ".join([*SCENARIOS, DEMO, NONE])
            raise ValueError(f"unknown scenario {name!r}; known: {known}")
        if sep:
            try:
                at_s = float(at)
            except ValueError:
                raise ValueError(
                    f"{entry!r}: the time after '@' must be seconds, e.g. leak@30"
                ) from None
            if not 0 <= at_s < 10**7:
                raise ValueError(f"{entry!r}: the time after '@' must be 0 or more seconds")
        else:
            at_s = FIRST_AT_S + EVERY_S * untimed
            untimed += 1
        specs.append(ScenarioSpec(name, at_s))
    return specs


@dataclass
class Plan:
    injections: list[Injection] = field(default_factory=list)

    @property
    def events(self) -> list[Draft]:
        """Every scenario event, in time order."""
        out = [d for inj in self.injections for d in inj.events]
        out.sort(key=lambda d: (time_of(d), d.id or ""))
        return out

    @property
    def truths(self) -> list[GroundTruth]:
        """Every ground-truth alert, in the order the stream completes them."""
        out = [t for inj in self.injections for t in inj.truths]
        out.sort(key=lambda t: (t.end, t.rule, t.key))
        return out


def plan(
    city: City,
    seed: int,
    specs: Sequence[ScenarioSpec],
    *,
    start: datetime,
    time_scale: float,
    tag: str,
) -> Plan:
    """Build every scenario instance, in time order, with resources that do not collide."""
    resources = Resources(city, seed)
    out = Plan()
    ordered = sorted(enumerate(specs), key=lambda p: (p[1].at_s, p[0]))
    for instance, (_, spec) in enumerate(ordered):
        at = start + timedelta(seconds=spec.at_s * time_scale)
        for _ in range(MAX_MOVES):
            mark = resources.snapshot()
            ctx = Context(
                name=spec.name,
                at=at,
                city=city,
                rng=random.Random(f"onenet-scenario:{seed}:{instance}:{spec.name}"),  # noqa: S311
                resources=resources,
                tag=tag,
                instance=instance,
            )
            try:
                out.injections.append(SCENARIOS[spec.name].fn(ctx))
                break
            except Busy as busy:  # every station is in use then: start when one is free
                resources.restore(mark)
                at += busy.wait
        else:
            raise RuntimeError(f"no free resources for scenario {spec.name} at {at}")
    return out
