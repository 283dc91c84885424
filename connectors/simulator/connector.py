"""`onenet connector run simulator`: the simulation, paced against the wall clock and published.

Pacing is scheduled from one monotonic start time (event k is due at `t0 + offset_k /
time_scale`), never by sleeping a fixed interval per event, so the rate does not drift however
long the run. The checkpoint position is the number of events sent (plus the event time the
sequence started at): a restart with the same seed and options rebuilds the same sequence and
continues after them, with event times that never go back behind the ones already sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.sdk.base import Connector, pause
from connectors.sdk.item import Item
from connectors.sdk.sink import Sink
from connectors.simulator.drafts import time_of
from connectors.simulator.scenarios import SCENARIOS
from connectors.simulator.schedule import DEMO, NONE, parse_specs
from connectors.simulator.simulation import DEFAULT_RATE, Simulation, check_pace
from connectors.simulator.truth import GroundTruth, write_truths
from hub.errors import UserError
from hub.events.fields import format_rfc3339, parse_rfc3339

log = logging.getLogger("onenet.connector.simulator")

CHECKPOINT_EVERY_S = 5.0
#: Sleep only when ahead of schedule by more than this; below it, sleeping costs more than it
#: smooths, and the schedule (not the sleeps) keeps the rate exact.
MIN_SLEEP_S = 0.002


class SimulatorOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = Field(
        default=42, description="Seed of the city and of every event: same seed, same events."
    )
    rate: float = Field(
        default=DEFAULT_RATE,
        ge=0,
        description="Background events per wall-clock second; 0 sends as fast as possible "
        "(event times then advance as at the default rate).",
    )
    duration: float | None = Field(
        default=None,
        gt=0,
        description="Stop after this many wall-clock seconds [default: run until stopped].",
    )
    count: int | None = Field(
        default=None,
        ge=0,
        description="Stop once this many events of the sequence are sent, counting those sent "
        "before a restart.",
    )
    scenario: list[str] = Field(
        default_factory=list,
        description="Scenario to inject, NAME or NAME@SECONDS (wall-clock seconds after the "
        f"start); repeatable. Default: the demo mix; '{NONE}': background only. Names: "
        + ", ".join([*SCENARIOS, DEMO]),
    )
    start_time: datetime | None = Field(
        default=None,
        description="Event time of the start, RFC 3339 with a zone offset [default: now].",
    )
    time_scale: float = Field(
        default=1.0,
        gt=0,
        description="Simulated seconds per wall-clock second; 3600 lets 24 h overdue "
        "inspections and 72 h SLA breaches happen within a demo.",
    )
    ground_truth: Path | None = Field(
        default=None,
        description="Write the alerts the injected scenarios must cause to this JSONL file.",
    )

    @field_validator("scenario")
    @classmethod
    def _known_scenarios(cls, value: list[str]) -> list[str]:
        parse_specs(value)
        return value

    @field_validator("start_time")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a zone offset, e.g. 2026-05-01T08:00:00+08:00 or ...Z")
        return value

    @model_validator(mode="after")
    def _pace(self) -> SimulatorOptions:
        check_pace(self.rate, self.time_scale)
        return self


class SimulatorConnector(Connector[SimulatorOptions]):
    """Simulated city feeds (H2 stations, chemical-site inspections, cameras, police, the 12345
    hotline) from a seed, with scenarios injected that must raise known alerts.

    Event time advances --time-scale simulated seconds per wall-clock second. The absence
    rules (overdue inspections, SLA breaches) fire when the workers' watermark, which follows
    event time, passes their deadlines: keep the simulator running past them.
    """

    name = "simulator"
    summary = "Seeded city events at a steady rate, with scenarios and their ground truth."
    Options = SimulatorOptions

    def __init__(self, options: SimulatorOptions) -> None:
        super().__init__(options)

    def simulation(self, resume: int = 0, previous_start: datetime | None = None) -> Simulation:
        """The run's simulation. Resuming without a fixed --start-time, event `resume` is due
        now, or where the previous run's timeline puts it if that is later (a time scale above
        1 runs ahead of the clock): so no event is older than one already sent."""
        o = self.options
        now = datetime.now(UTC)
        sim = self._build(o.start_time or now)
        if resume and o.start_time is None:
            offset = next(off for i, (off, _) in enumerate(sim.timeline()) if i == resume)
            start = now - timedelta(seconds=offset)
            sim = self._build(max(start, previous_start or start))
        return sim

    def _build(self, start: datetime) -> Simulation:
        o = self.options
        return Simulation(
            o.seed,
            scenarios=o.scenario,
            start_time=start,
            time_scale=o.time_scale,
            rate=o.rate,
        )

    async def run(self, sink: Sink) -> None:
        o = self.options
        resume, previous_start = _resume_position(sink.resume_from)
        if o.count is not None and resume >= o.count:
            log.info(
                "simulator: the checkpoint says %d events were sent already (--count %d); "
                "nothing more to send (--reset-checkpoint starts over)",
                resume,
                o.count,
            )
        sim = self.simulation(resume, previous_start)
        log.info(
            "simulator: seed %d, %s events/s, time scale %g, start %s, %d scenario(s)%s",
            o.seed,
            f"{o.rate:g}" if o.rate else "unpaced",
            o.time_scale,
            sim.start.isoformat(),
            len(sim.specs),
            f", resuming after event {resume}" if resume else "",
        )
        with contextlib.ExitStack() as stack:
            truth_file = stack.enter_context(o.ground_truth.open("wb")) if o.ground_truth else None
            await self._emit(sink, sim, resume, truth_file)

    async def _emit(
        self, sink: Sink, sim: Simulation, resume: int, truth_file: IO[bytes] | None
    ) -> None:
        o = self.options
        loop = asyncio.get_running_loop()
        truths = _TruthWriter(sim.truths, truth_file)
        announce = {min(i.events, key=time_of).id: i for i in sim.plan.injections if i.events}
        t0 = loop.time()
        deadline = t0 + o.duration if o.duration is not None else None
        next_checkpoint = t0 + CHECKPOINT_EVERY_S
        first: float | None = None
        start = format_rfc3339(sim.start)
        for position, (offset, draft) in enumerate(sim.timeline()):
            if position < resume:
                truths.reached(time_of(draft))
                continue
            if (o.count is not None and position >= o.count) or sink.stopping.is_set():
                break
            now = loop.time()
            if deadline is not None and now >= deadline:
                break
            if o.rate > 0:
                first = offset if first is None else first
                due = t0 + (offset - first) / o.time_scale
                if deadline is not None and due >= deadline:
                    await pause(sink.stopping, deadline - now)
                    break
                if due - now > MIN_SLEEP_S and await pause(sink.stopping, due - now):
                    break
            injection = announce.get(draft.id)
            if injection is not None:
                expect = ", ".join(f"{t.rule} {t.severity}" for t in injection.truths) or "none"
                log.info(
                    "scenario %s: %s (expected alerts: %s)",
                    injection.scenario,
                    injection.summary,
                    expect,
                )
            checkpoint = {"emitted": position + 1, "start": start}
            await sink.submit(Item(draft, origin=f"simulator:{position}", position=checkpoint))
            truths.reached(time_of(draft))
            if loop.time() >= next_checkpoint:
                await sink.checkpoint()
                next_checkpoint = loop.time() + CHECKPOINT_EVERY_S


class _TruthWriter:
    """Writes each ground-truth alert once the stream has reached its end time: the file then
    lists exactly the alerts the events sent so far must cause."""

    def __init__(self, truths: list[GroundTruth], fh: IO[bytes] | None) -> None:
        self._truths = truths
        self._fh = fh
        self._next = 0

    def reached(self, t: datetime) -> None:
        start = self._next
        while self._next < len(self._truths) and self._truths[self._next].end <= t:
            self._next += 1
        if self._fh is not None and self._next > start:
            write_truths(self._fh, self._truths[start : self._next])
            self._fh.flush()


def _resume_position(value: Any) -> tuple[int, datetime | None]:
    """(events already sent, event time the sequence started at) from a checkpoint."""
    if value is None:
        return 0, None
    if isinstance(value, dict):
        emitted, start = value.get("emitted"), value.get("start")
        if isinstance(emitted, int) and not isinstance(emitted, bool) and emitted >= 0:
            try:
                return emitted, parse_rfc3339(start) if start is not None else None
            except ValueError:
                pass
    raise UserError(
        f"the checkpoint position {value!r} is not a simulator position",
        hint="run again with --reset-checkpoint, or use another --instance",
    )
