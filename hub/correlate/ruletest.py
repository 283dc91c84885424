"""Rule tests as data, in the spirit of `promtool test rules`: given these events at these
times, expect these alerts (and no others).

    rule_files: [city.yaml]
    sites: [{id: H2-ST-01, kind: hydrogen-station, name_zh: ..., name_en: ..., ...}]
    tests:
      - name: three high readings fire a leak
        events:
          - {at: 0s,  type: city.safety.hydrogen.reading, data: {...}}
          - {at: 20s, type: city.safety.hydrogen.reading, data: {...}}
        until: 10m            # advance the watermark to start + until before checking
        expect:
          - {rule: hydrogen-leak, key: H2-ST-01, severity: Severe, status: firing}

Events are validated exactly as the hub validates them and run through the same engines as
the workers, in list order (so out-of-order and late arrivals can be written down).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.alerts.model import Alert, Severity
from hub.correlate.correlator import Correlator, MemoryStore
from hub.correlate.fact import Fact
from hub.correlate.loader import RuleFileError, RuleProblem, load_file
from hub.correlate.spec import RulePack
from hub.correlate.text import AlertText
from hub.correlate.units import Duration
from hub.correlate.watermark import Watermark
from hub.events import EventRejected, parse_structured
from hub.reference.files import read_districts
from hub.reference.model import Gazetteer, Site

DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleTestEvent(_Strict):
    at: Duration
    type: str
    data: dict[str, Any]
    id: str | None = None
    source: str = "urn:onenet:rule-test"
    district: str | None = None


class Expected(_Strict):
    rule: str
    key: str | None = None  # None: any key (co-location keys are h3 cells)
    severity: Severity | None = None
    status: Literal["firing", "acknowledged", "resolved"] | None = None
    evidence: list[str] | None = None
    changes: list[str] | None = None
    departments: list[str] | None = None
    headline: str | None = None  # a substring of the headline
    headline_zh: str | None = None  # a substring of the Chinese headline


class RuleTestCase(_Strict):
    name: str
    start: datetime = DEFAULT_START
    lateness: Duration | None = None
    events: list[RuleTestEvent] = Field(default_factory=list)
    until: Duration | None = None
    expect: list[Expected] = Field(default_factory=list)


class RuleTestFile(_Strict):
    rule_files: list[str] = Field(min_length=1)
    #: the gazetteer the alerts' text is rendered with (as on `onenet.reference.sites`)
    sites: list[Site] = Field(default_factory=list)
    tests: list[RuleTestCase] = Field(min_length=1)


@dataclass
class CaseResult:
    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class Observed:
    alert: Alert
    kinds: list[str]


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def run_case(pack: RulePack, case: RuleTestCase, text: AlertText | None = None) -> CaseResult:
    result = CaseResult(case.name)
    lateness = case.lateness if case.lateness is not None else pack.lateness
    # The idle clock never moves in a rule test: time advances only with the events and `until`.
    clock = _Clock(case.start)
    watermark = Watermark(lateness, idle_after=timedelta(days=36500), clock=clock)
    correlator = Correlator(pack, MemoryStore(), text)
    observed: dict[str, Observed] = {}
    counter = itertools.count(1)

    def record(changes: list[Any]) -> None:
        for change in changes:
            seen = observed.setdefault(change.alert.alert_id, Observed(change.alert, []))
            seen.alert = change.alert
            seen.kinds.append(change.kind)

    for n, ev in enumerate(case.events, start=1):
        doc = {
            "specversion": "1.0",
            "id": ev.id or f"e{next(counter)}",
            "source": ev.source,
            "type": ev.type,
            "time": (case.start + ev.at).isoformat(),
            "data": ev.data,
        }
        if ev.district is not None:
            doc["district"] = ev.district
        try:
            event = parse_structured(orjson.dumps(doc))
        except EventRejected as exc:
            result.failures.append(f"event {n} is not a valid event: {exc}")
            continue
        fact = Fact.of(event)
        watermark.observe(fact.time)
        wm = watermark.current()
        assert wm is not None
        for rule, route in correlator.routes(fact):
            _outcome, changes = correlator.observe(rule, fact, route, wm)
            record(changes)
        record(correlator.advance_all(wm))
    if case.until is not None:
        final = case.start + case.until
        record(correlator.advance_all(final))
    _compare(case, observed, result)
    return result


def _compare(case: RuleTestCase, observed: dict[str, Observed], result: CaseResult) -> None:
    unmatched = dict(observed)
    for exp in case.expect:
        hits = [
            aid
            for aid, o in unmatched.items()
            if o.alert.rule == exp.rule and exp.key in (None, o.alert.key)
        ]
        if not hits:
            which = f"for key {exp.key}" if exp.key else "for any key"
            result.failures.append(f"expected an alert of {exp.rule} {which}; none fired")
            continue
        got = unmatched.pop(hits[0])
        a = got.alert
        checks: list[tuple[str, Any, Any]] = [
            ("severity", exp.severity, a.severity),
            ("status", exp.status, a.status),
            ("evidence", exp.evidence, a.evidence),
            ("changes", exp.changes, got.kinds),
            ("departments", exp.departments, a.departments),
        ]
        for what, want, have in checks:
            if want is not None and want != have:
                result.failures.append(
                    f"{exp.rule}/{exp.key}: {what} is {_plain(have)!r}, expected {_plain(want)!r}"
                )
        if exp.headline is not None and exp.headline not in a.headline:
            result.failures.append(
                f"{exp.rule}/{exp.key}: headline {a.headline!r} lacks {exp.headline!r}"
            )
        if exp.headline_zh is not None and exp.headline_zh not in (a.headline_zh or ""):
            result.failures.append(
                f"{exp.rule}/{exp.key}: headline_zh {a.headline_zh!r} lacks {exp.headline_zh!r}"
            )
    for o in unmatched.values():
        result.failures.append(
            f"unexpected alert: {o.alert.rule} for key {o.alert.key} "
            f"({o.alert.severity.value}, {o.alert.status}, changes {o.kinds})"
        )


def _plain(value: Any) -> Any:
    """Enums as their values, so a failure reads `'Extreme'`, not `<Severity.EXTREME: ...>`."""
    return value.value if isinstance(value, Enum) else value


def load_tests(path: Path) -> tuple[RuleTestFile, list[RulePack]]:
    name = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RuleFileError(
            [RuleProblem(name, None, "", f"cannot read rule tests: {exc}")]
        ) from None
    try:
        spec = RuleTestFile.model_validate(raw)
    except ValidationError as exc:
        problems = [
            RuleProblem(name, None, ".".join(str(p) for p in e["loc"]), e["msg"])
            for e in exc.errors()
        ]
        raise RuleFileError(problems) from None
    packs = [load_file((path.parent / f).resolve()) for f in spec.rule_files]
    return spec, packs


def merge(packs: list[RulePack]) -> RulePack:
    if len(packs) == 1:
        return packs[0]
    rules = [r for p in packs for r in p.rules]
    return RulePack(name=packs[0].name, lateness=packs[0].lateness, rules=rules)


def find_test_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted([*path.glob("*.test.yaml"), *path.glob("*.test.yml")])
    return [path]


def run_file(path: Path) -> list[CaseResult]:
    spec, packs = load_tests(path)
    pack = merge(packs)
    text = AlertText(Gazetteer(read_districts(), spec.sites)) if spec.sites else None
    return [run_case(pack, case, text) for case in spec.tests]
