"""What every peer of the hub benchmark shares: the stop count, the clock and the rule.

Peers run as their own processes (Quix Streams in its own virtualenv), so this module
imports nothing from the hub. Each peer counts every record it has processed; the wall-clock
times of the first and of the N-th one go to a JSON file the benchmark reads. Throughput is
N over that span for every contender alike (the hub's worker is read from its /metrics).
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path

HYDROGEN = "city.safety.hydrogen.reading"
LEAK_PPM = 4000.0
LEAK_COUNT = 3
WINDOW_S = 60.0
LATENESS_S = 300.0  # the city pack's `lateness`: how long a window stays open for late events


class Clock:
    """Counts processed records; writes first/last wall-clock times once `expected` is hit."""

    def __init__(self, expected: int, result: Path) -> None:
        self.expected = expected
        self.result = result
        self.count = 0
        self.first = 0.0

    def tick(self) -> None:
        self.count += 1
        if self.count == 1:
            self.first = time.time()
        if self.count == self.expected:
            last = time.time()
            tmp = self.result.with_suffix(".tmp")
            tmp.write_text(json.dumps({"first": self.first, "last": last, "count": self.count}))
            tmp.replace(self.result)


def event_seconds(value: dict[str, object]) -> float:
    """Event time of a structured CloudEvent, in seconds since the epoch."""
    return datetime.fromisoformat(str(value["time"])).timestamp()


def is_leak_reading(value: dict[str, object]) -> bool:
    data = value.get("data")
    return (
        value.get("type") == HYDROGEN
        and isinstance(data, dict)
        and float(data.get("h2_ppm", 0.0)) >= LEAK_PPM
    )


def leak_step(times: list[float], fired_until: float, t: float) -> tuple[list[float], float, bool]:
    """One reading >= 4000 ppm at time t for a site: (kept times, fired until, fire now?).
    Three within 60 s fire once; the episode lasts until its window has passed."""
    kept = sorted([x for x in times if x > t - WINDOW_S - LATENESS_S] + [t])
    in_window = [x for x in kept if t - WINDOW_S <= x <= t]
    fire = len(in_window) >= LEAK_COUNT and t > fired_until
    return kept, (t + WINDOW_S if fire else fired_until), fire


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"{name} is not set")
    return value
