"""The default rule pack and the engine for each rule kind."""

from __future__ import annotations

from pathlib import Path

from hub.correlate.engine import Engine
from hub.correlate.loader import load_file
from hub.correlate.spec import (
    AbsenceRule,
    ColocationRule,
    RulePack,
    SequenceRule,
    ThresholdRule,
    _Rule,
)
from hub.correlate.text import AlertText

DEFAULT_PACK = Path(__file__).resolve().parent.parent / "data" / "rules" / "city.yaml"


def load_pack(path: Path | None = None) -> RulePack:
    return load_file(path or DEFAULT_PACK)


def engine_for(rule: _Rule, text: AlertText | None = None) -> Engine:
    """The engine of `rule`; `text` renders its alerts' text (default: no sites known)."""
    if isinstance(rule, ThresholdRule):
        from hub.correlate.threshold import ThresholdEngine

        return ThresholdEngine(rule, text)
    if isinstance(rule, AbsenceRule):
        from hub.correlate.absence import AbsenceEngine

        return AbsenceEngine(rule, text)
    if isinstance(rule, SequenceRule):
        from hub.correlate.sequence import SequenceEngine

        return SequenceEngine(rule, text)
    if isinstance(rule, ColocationRule):
        from hub.correlate.colocation import ColocationEngine

        return ColocationEngine(rule, text)
    raise TypeError(f"no engine for rule kind {type(rule).__name__}")
