"""Ground truth: the alerts an injected scenario must cause under the default rule pack.

Benchmarks and end-to-end tests compare the hub's alerts with these records, so each one says
exactly what to expect: which rule, for which key, at which final severity, from which events,
and from when on (``fires_at``: the event time at which the condition first holds; absence
rules fire once the worker's watermark passes it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from hub.events.fields import format_rfc3339


@dataclass(frozen=True, slots=True)
class GroundTruth:
    scenario: str
    rule: str
    key: str
    severity: str
    #: event time of the earliest contributing event
    start: datetime
    #: event time of the latest contributing event, or the deadline of an absence rule
    end: datetime
    fires_at: datetime
    #: CloudEvent ids of the contributing events
    evidence: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "rule": self.rule,
            "key": self.key,
            "severity": self.severity,
            "start": format_rfc3339(self.start),
            "end": format_rfc3339(self.end),
            "fires_at": format_rfc3339(self.fires_at),
            "evidence": list(self.evidence),
        }


def write_truths(fh: IO[bytes], truths: Iterable[GroundTruth]) -> None:
    for truth in truths:
        fh.write(orjson.dumps(truth.to_dict()) + b"\n")


def read_truths(path: Path) -> list[dict[str, Any]]:
    """The records of a ground-truth JSONL file, as written (times stay RFC 3339 strings)."""
    with path.open("rb") as fh:
        return [orjson.loads(line) for line in fh if line.strip()]
