"""One simulator run as a pure, deterministic stream of drafts: background slots merged with
the planned scenario events, in event-time order. No Kafka, no clock: benchmarks and rule
tests use it directly; the connector only paces and publishes it.

Background slot `n` is at `start + n * time_scale / rate` (event time), so at `rate` events per
wall second the event times follow the wall clock times `time_scale`. Scenario events keep
their own exact times between the slots (a 61 s near miss must be 61 s, whatever the rate).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from connectors.sdk.envelope import draft_to_dict
from connectors.sdk.item import Draft
from connectors.simulator.background import MAX_SPACING_S, Background, Exclusions
from connectors.simulator.city import City, build_city
from connectors.simulator.drafts import time_of
from connectors.simulator.schedule import Plan, ScenarioSpec, parse_specs, plan
from connectors.simulator.truth import GroundTruth

DEFAULT_RATE = 20.0
DEFAULT_SOURCE = "urn:onenet:simulator"


def spacing_of(rate: float, time_scale: float) -> float:
    """Simulated seconds between background slots; `rate` 0 spaces them as the default rate."""
    return time_scale / (rate or DEFAULT_RATE)


def check_pace(rate: float, time_scale: float) -> None:
    """Refuse a pace whose slots are too sparse for background follow-ups to meet deadlines."""
    if rate < 0 or time_scale <= 0:
        raise ValueError("rate must be >= 0 and time_scale > 0")
    spacing = spacing_of(rate, time_scale)
    if spacing > MAX_SPACING_S:
        raise ValueError(
            f"time_scale / rate = {spacing:g} simulated seconds between events; at most "
            f"{MAX_SPACING_S:g} is supported (raise the rate or lower the time scale)"
        )


class Simulation:
    def __init__(
        self,
        seed: int = 42,
        *,
        scenarios: Sequence[str] | None = None,
        start_time: datetime | None = None,
        time_scale: float = 1.0,
        rate: float = DEFAULT_RATE,
    ) -> None:
        """`scenarios`: entries `NAME` or `NAME@SECONDS` (wall seconds after the start);
        None or empty means the demo mix, `["none"]` background only."""
        check_pace(rate, time_scale)
        start = start_time or datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("start_time must be timezone-aware")
        self.seed = seed
        self.start = start
        self.time_scale = time_scale
        self.rate = rate
        self.spacing_s = spacing_of(rate, time_scale)
        self.specs: list[ScenarioSpec] = parse_specs(scenarios)
        self.tag = f"{seed}-{fingerprint(seed, self.spacing_s, time_scale, self.specs)}"
        self.city: City = build_city(seed)
        self.plan: Plan = plan(
            self.city, seed, self.specs, start=start, time_scale=time_scale, tag=self.tag
        )
        self.truths: list[GroundTruth] = self.plan.truths

    def offset_of(self, draft: Draft) -> float:
        """Simulated seconds from the start to the draft's event time."""
        return (time_of(draft) - self.start).total_seconds()

    def timeline(self) -> Iterator[tuple[float, Draft]]:
        """(simulated offset in seconds, draft) forever, in time order."""
        scenario = self.plan.events
        offsets = [self.offset_of(d) for d in scenario]
        background = Background(
            self.city,
            self.seed,
            start=self.start,
            spacing_s=self.spacing_s,
            tag=self.tag,
            exclusions=Exclusions.of(scenario),
        )
        spacing = self.spacing_s
        i, n = 0, len(scenario)
        slot = 0
        while True:
            slot_offset = slot * spacing
            while i < n and offsets[i] < slot_offset:
                yield offsets[i], scenario[i]
                i += 1
            yield slot_offset, background.event(slot)
            slot += 1


def fingerprint(
    seed: int, spacing_s: float, time_scale: float, specs: Sequence[ScenarioSpec]
) -> str:
    """Six hex digits naming everything that shapes the sequence except its start time.

    Part of every id: a re-run with the same options re-sends the same ids (and is
    de-duplicated); a run with other options never collides with it.
    """
    text = f"{seed}|{spacing_s!r}|{time_scale!r}|" + ";".join(f"{s.name}@{s.at_s!r}" for s in specs)
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def generate(
    seed: int = 42,
    *,
    count: int | None = None,
    until: datetime | None = None,
    scenarios: Sequence[str] | None = None,
    start_time: datetime | None = None,
    time_scale: float = 1.0,
    rate: float = DEFAULT_RATE,
) -> Iterator[Draft]:
    """The drafts of a run, without Kafka: `count` of them, or those up to event time `until`
    (endless when neither is given). See `Simulation` for the other arguments."""
    sim = Simulation(
        seed, scenarios=scenarios, start_time=start_time, time_scale=time_scale, rate=rate
    )
    for n, (_, draft) in enumerate(sim.timeline()):
        if count is not None and n >= count:
            return
        if until is not None and time_of(draft) > until:
            return
        yield draft


def to_cloudevent(draft: Draft, *, source: str = DEFAULT_SOURCE) -> dict[str, Any]:
    """The complete structured-mode CloudEvent of a draft, as the runner would publish it."""
    return draft_to_dict(draft, default_source=source)


def write_jsonl(path: Path, drafts: Iterable[Draft], *, source: str = DEFAULT_SOURCE) -> int:
    """Write complete CloudEvents, one per line (`onenet publish FILE` takes it); returns the
    number written."""
    n = 0
    with path.open("wb") as fh:
        for draft in drafts:
            fh.write(orjson.dumps(draft_to_dict(draft, default_source=source)) + b"\n")
            n += 1
    return n


__all__ = [
    "DEFAULT_RATE",
    "DEFAULT_SOURCE",
    "Simulation",
    "generate",
    "to_cloudevent",
    "write_jsonl",
]
