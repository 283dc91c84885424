"""The control view's pure parts, without a broker: the read model and its change log, the
stream's resume and filtering, evidence, SLA compliance, CAP export, tokens and sessions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import orjson
import pytest

from hub.alerts.cloudevent import encode
from hub.alerts.lifecycle import LIFECYCLE_SOURCE, Command, decide
from hub.alerts.model import AlertChange, Severity
from hub.errors import UserError
from hub.events import Event
from hub.events.parse import parse_structured
from hub.view.auth import Principal, Sessions, TokenStore, hash_token, tokens_entry
from hub.view.cap import CAP_NS, to_cap
from hub.view.citymap import CityGrid, alert_cells
from hub.view.evidence import EvidenceIndex
from hub.view.readmodel import Cursor, ReadModel
from hub.view.sla import SlaBook
from hub.view.sse import alert_stream
from tests.view.support import make_alert, service_event

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
OPS = Principal("ops", "operator", "0" * 64)
SAFETY = Principal("s", "department:safety", "1" * 64)


def record(alert_id: str, kind: str = "firing", source: str | None = None, **kw: object) -> bytes:
    alert = make_alert(alert_id, departments=kw.pop("departments", ["safety"]), **kw)  # type: ignore[arg-type]
    change = AlertChange(kind=kind, alert=alert)  # type: ignore[arg-type]
    return encode(change, time=NOW) if source is None else encode(change, time=NOW, source=source)


# --- read model -------------------------------------------------------------------------------


def test_fold_keeps_people_s_part_and_skips_duplicates() -> None:
    m = ReadModel()
    assert m.apply_alert_record(record("a1")) is not None
    assert m.apply_alert_record(record("a1")) is None  # the same change id twice
    cmd = Command(
        command_id="c1", alert_id="a1", action="acknowledge", actor="ops", scope="operator", at=NOW
    )
    change = decide(m.alerts["a1"], cmd, now=NOW)
    m.apply_alert_record(encode(change, time=NOW, source=LIFECYCLE_SOURCE))
    assert m.alerts["a1"].status == "acknowledged"
    m.apply_alert_record(record("a1", "updated", evidence=["e1"]))
    assert m.alerts["a1"].status == "acknowledged"
    assert m.alerts["a1"].evidence == ["e1"]
    assert [e.kind for e in m.entries_after(0) or []] == ["firing", "acknowledged", "updated"]


def test_foreign_records_are_skipped() -> None:
    m = ReadModel()
    assert m.apply_alert_record(b"not json") is None
    assert m.apply_alert_record(orjson.dumps({"type": "city.alert.firing", "data": {}})) is None
    assert m.apply_alert_record(None) is None
    assert m.skipped_records == 2
    assert m.seq == 0


def test_change_log_ring_and_cursors() -> None:
    m = ReadModel(ring_size=3)
    for i in range(5):
        m.apply_alert_record(record(f"a{i}"))
    assert m.seq == 5
    assert [e.seq for e in m.entries_after(2) or []] == [3, 4, 5]
    assert m.entries_after(1) is None  # seq 2 left the ring
    assert m.entries_after(5) == []
    assert m.entries_after(6) is None
    assert Cursor.parse(str(m.cursor)) == m.cursor
    for bad in ("", "5", "-5", "x-y", "abc-", "e-" + "9" * 30):
        assert Cursor.parse(bad) is None


def test_select_filters_and_scope() -> None:
    m = ReadModel()
    m.apply_alert_record(record("a1", departments=["safety"], severity=Severity.EXTREME))
    m.apply_alert_record(record("a2", departments=["security"], district="310102"))
    assert {a.alert_id for a in m.select(OPS.sees)} == {"a1", "a2"}
    assert {a.alert_id for a in m.select(SAFETY.sees)} == {"a1"}
    assert {a.alert_id for a in m.select(OPS.sees, severity=["Extreme"])} == {"a1"}
    assert {a.alert_id for a in m.select(OPS.sees, district="310102")} == {"a2"}
    assert m.select(SAFETY.sees, text="a2") == []
    assert m.facets(SAFETY.sees)["departments"] == ["safety"]


def _collect(m: ReadModel, who: Principal, resume: str | None, stop_after: int) -> list[str]:
    async def run() -> list[str]:
        out: list[str] = []

        async def disconnected() -> bool:
            return len(out) >= stop_after

        async for chunk in alert_stream(
            m, who, resume, still_allowed=lambda: True, disconnected=disconnected, heartbeat_s=0
        ):
            out.append(chunk.decode())
            if len(out) >= stop_after + 2:
                break
        return out

    return asyncio.run(run())


def test_stream_resumes_filters_and_resets() -> None:
    def model() -> ReadModel:
        m = ReadModel()
        m.apply_alert_record(record("mine", departments=["safety"]))
        m.apply_alert_record(record("theirs", departments=["security"]))
        return m

    m = model()
    out = "".join(_collect(m, SAFETY, f"{m.epoch}-0", 3))
    assert '"alert_id":"mine"' in out
    assert "theirs" not in out
    assert f"id: {m.epoch}-1\nevent: alert" in out
    out = "".join(_collect(model(), OPS, "other-1", 2))
    assert "event: reset" in out
    assert '"alert_id"' not in out


# --- evidence, SLA, map -----------------------------------------------------------------------


def test_evidence_cited_before_it_arrives_is_kept() -> None:
    idx = EvidenceIndex(capacity=2)
    idx.cite(["late"])
    for i in range(5):
        idx.add({"id": f"e{i}", "time": f"2026-01-01T00:00:0{i}Z"})
    idx.add({"id": "late", "time": "2026-01-01T00:00:00Z"})
    idx.cite(["e4"])
    for i in range(5, 9):
        idx.add({"id": f"e{i}", "time": "2026-01-01T00:01:00Z"})
    found, missing = idx.timeline(["e4", "late", "e0"])
    assert [r["id"] for r in found] == ["late", "e4"]
    assert missing == ["e0"]


def _svc(eid: str, kind: str, rid: str, dept: str, at: datetime) -> Event:
    return parse_structured(orjson.dumps(service_event(eid, kind, rid, dept, at)))


def test_sla_compliance_and_ranking() -> None:
    book = SlaBook(window=timedelta(days=30), deadline=timedelta(hours=72))
    start = NOW - timedelta(days=10)
    book.observe(_svc("1", "opened", "r1", "a", start))
    book.observe(_svc("2", "closed", "r1", "a", start + timedelta(hours=1)))
    book.observe(_svc("3", "opened", "r2", "a", start))
    book.observe(_svc("4", "closed", "r2", "a", start + timedelta(hours=73)))
    book.observe(_svc("5", "closed", "r3", "b", start + timedelta(hours=2)))  # before opening
    book.observe(_svc("6", "opened", "r3", "b", start))
    book.observe(_svc("7", "opened", "r4", "b", start))  # open past the deadline
    book.observe(_svc("8", "opened", "r5", "c", NOW - timedelta(hours=1)))  # pending
    book.observe(_svc("9", "opened", "old", "c", NOW - timedelta(days=40)))  # outside window
    scores = {s.department: s for s in book.scores(NOW)}
    assert scores["a"].compliance == 0.5
    assert scores["b"].compliance == 0.5
    assert scores["b"].open_overdue == 1
    assert scores["c"].compliance is None
    assert scores["c"].open_pending == 1
    ranking = book.ranking(NOW, size=1)
    assert ranking.red == []  # nobody meets the 90 % target
    assert [s.department for s in ranking.black] == ["a"]  # ties: more judged, then name
    book.target = 0.5
    assert [s.department for s in book.ranking(NOW, size=1).red] == ["a"]
    assert book.ranking(NOW).black == []
    book.prune(NOW)
    assert len(book) == 6  # the request 40 days old still counts for the previous window
    book.prune(NOW + timedelta(days=30))
    assert len(book) == 5


def test_red_list_meets_the_target_black_list_is_below_it_with_trends() -> None:
    book = SlaBook(window=timedelta(days=10), deadline=timedelta(hours=72), target=0.8)
    n = 0

    def request(dept: str, days_ago: float, on_time: bool) -> None:
        nonlocal n
        n += 1
        opened = NOW - timedelta(days=days_ago)
        book.observe(_svc(f"o{n}", "opened", f"r{n}", dept, opened))
        took = timedelta(hours=2 if on_time else 100)
        book.observe(_svc(f"c{n}", "closed", f"r{n}", dept, opened + took))

    for k in range(4):  # perfect now, half on time the window before: trend +50 points
        request("perfect", 5, True)
        request("perfect", 15, k % 2 == 0)
        request("slipping", 5, k == 0)  # 25 % now, 100 % before
        request("slipping", 15, True)
    r = book.ranking(NOW, size=5)
    assert [s.department for s in r.red] == ["perfect"]
    assert [s.department for s in r.black] == ["slipping"]
    perfect, slipping = r.red[0], r.black[0]
    assert (perfect.compliance, perfect.previous, perfect.trend) == (1.0, 0.5, 0.5)
    assert (slipping.compliance, slipping.previous, slipping.trend) == (0.25, 1.0, -0.75)
    # a department at 100 % is never on the black list, whatever the target
    book.target = 1.0
    r = book.ranking(NOW, size=5)
    assert "perfect" not in [s.department for s in r.black]
    assert [s.department for s in r.red] == ["perfect"]


def test_city_grid_spreads_districts_and_alert_cells_are_shaded() -> None:
    grid = CityGrid()
    grid.observe(31.20, 121.40, "310101")
    grid.observe(31.26, 121.52, "310106")
    cells, labels = grid.background()
    assert {c.district for c in cells} == {"310101", "310106"}
    assert {label.district for label in labels} == {"310101", "310106"}
    a = make_alert("x", departments=["safety"], severity=Severity.MINOR, location=(31.2, 121.4))
    b = make_alert("y", departments=["safety"], severity=Severity.EXTREME, location=(31.2, 121.4))
    shaded = alert_cells([a, b])
    assert len(shaded) == 1
    assert shaded[0].severity == "Extreme"
    assert len(shaded[0].boundary) == 6


# --- CAP --------------------------------------------------------------------------------------


def test_cap_escapes_and_follows_the_status() -> None:
    alert = make_alert(
        "cap-1", departments=["safety"], headline='Leak <at> "H2" & more', category="Nonsense"
    )
    ns = {"cap": CAP_NS}
    root = ET.fromstring(to_cap(alert))
    assert root.findtext("cap:msgType", namespaces=ns) == "Alert"
    assert root.find("cap:references", ns) is None
    assert root.findtext("cap:info/cap:headline", namespaces=ns) == 'Leak <at> "H2" & more'
    assert root.findtext("cap:info/cap:category", namespaces=ns) == "Other"
    assert root.findtext("cap:sent", namespaces=ns).endswith("+00:00")  # type: ignore[union-attr]
    tags = [child.tag.split("}")[1] for child in root]
    assert tags == ["identifier", "sender", "sent", "status", "msgType", "scope", "info"]
    alert.status = "resolved"
    root = ET.fromstring(to_cap(alert))
    assert root.findtext("cap:msgType", namespaces=ns) == "Cancel"
    assert root.findtext("cap:info/cap:urgency", namespaces=ns) == "Past"
    refs = root.findtext("cap:references", namespaces=ns) or ""
    assert refs.split(",")[1] == "urn:onenet:alert:cap-1"


# --- tokens and sessions ----------------------------------------------------------------------


def test_tokens_file_and_sessions(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    path.write_text(tokens_entry("t" * 20, name="ops", role="operator"))
    store = TokenStore(path)
    who = store.authenticate("t" * 20)
    assert who is not None
    assert who.role == "operator"
    assert store.authenticate("t" * 19) is None
    assert store.authenticate(hash_token("t" * 20)) is None
    sessions = Sessions(b"k" * 32, ttl_s=60)
    cookie = sessions.issue(who, now=1000)
    assert sessions.verify(cookie, now=1030) == who.token_hash
    assert sessions.verify(cookie, now=1061) is None
    assert Sessions(b"j" * 32).verify(cookie, now=1030) is None
    digest, expires, sig = cookie.split(".")
    assert sessions.verify(f"{digest}.{int(expires) + 1}.{sig}", now=1030) is None
    assert sessions.verify("é.1.x", now=0) is None


@pytest.mark.parametrize(
    "text",
    [
        '[tokens.abc]\nname = "x"\nrole = "operator"\n',
        f'[tokens.{"a" * 64}]\nname = "x"\nrole = "admin"\n',
        f'[tokens.{"a" * 64}]\nrole = "viewer"\n',
        "not toml [",
    ],
)
def test_invalid_tokens_files_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "tokens.toml"
    path.write_text(text)
    with pytest.raises(UserError):
        TokenStore(path)


def test_department_principal_sees_routed_and_assigned_alerts() -> None:
    routed = make_alert("r", departments=["safety"])
    other = make_alert("o", departments=["security"])
    assert SAFETY.sees(routed)
    assert not SAFETY.sees(other)
    assert Principal("v", "viewer", "2" * 64).sees(other)
    assert not Principal("v", "viewer", "2" * 64).can_act


def resolved(alert_id: str, severity: Severity = Severity.MODERATE) -> bytes:
    alert = make_alert(alert_id, departments=["safety"], severity=severity)
    alert.status = "resolved"
    return encode(AlertChange(kind="resolved", alert=alert), time=NOW)


def test_an_extreme_alert_resolved_unseen_stays_until_acknowledged() -> None:
    now = [NOW]
    m = ReadModel(resolved_retention=timedelta(hours=1), clock=lambda: now[0])
    written = int(NOW.timestamp() * 1000)
    m.apply_alert_record(record("x", severity=Severity.EXTREME), written)
    m.apply_alert_record(resolved("x", Severity.EXTREME), written + 5_000)
    assert m.first_seen["x"] == NOW  # ages count from the first record, not event times
    now[0] = NOW + timedelta(hours=3)
    m.apply_alert_record(record("other"), written)
    assert m.alerts["x"].status == "resolved"  # kept: nobody has seen it
    ack = Command(
        command_id="c9", alert_id="x", action="acknowledge", actor="ops", scope="operator", at=NOW
    )
    seen = decide(m.alerts["x"], ack, now=now[0])
    m.apply_alert_record(
        encode(seen, time=now[0], source=LIFECYCLE_SOURCE), int(now[0].timestamp() * 1000)
    )
    now[0] += timedelta(minutes=61)
    m.apply_alert_record(record("newer"), written)
    assert "x" not in m.alerts
    assert "x" not in m.first_seen


def test_resolved_alerts_are_dropped_after_the_retention_and_late_changes_ignored() -> None:
    now = [NOW]
    m = ReadModel(resolved_retention=timedelta(hours=1), clock=lambda: now[0])
    written = int(NOW.timestamp() * 1000)
    for i in range(3):
        m.apply_alert_record(record(f"r{i}"), written)
    m.apply_alert_record(resolved("r0"), written)
    m.apply_alert_record(resolved("r1"), written + 1_800_000)
    now[0] = NOW + timedelta(minutes=61)
    m.apply_alert_record(record("new"), written)  # any record lets expired alerts go
    assert set(m.alerts) == {"r1", "r2", "new"}
    assert "r0" not in m.last_entry
    now[0] = NOW + timedelta(minutes=91)
    m.apply_alert_record(record("newer"), written)
    assert set(m.alerts) == {"r2", "new", "newer"}
    # A late correlator change for a forgotten alert does not bring back a half-known alert.
    assert m.apply_alert_record(record("r0", "updated", evidence=["late"]), written) is None
    assert "r0" not in m.alerts
    assert m.ignored_late == 1


def test_a_replay_drops_long_resolved_alerts_at_once() -> None:
    m = ReadModel(resolved_retention=timedelta(hours=1), clock=lambda: NOW)
    old = int((NOW - timedelta(days=2)).timestamp() * 1000)
    m.apply_alert_record(record("old"), old)
    m.apply_alert_record(resolved("old"), old)
    m.apply_alert_record(record("open"), old)
    assert set(m.alerts) == {"open"}


def test_the_view_judges_event_times_by_the_configured_range() -> None:
    """An operator who widens the accepted range sees those events in the view too."""
    from hub.events import TimeRange

    old = orjson.dumps(
        service_event("e-1990", "opened", "REQ-1990", "water", datetime(1990, 5, 1, tzinfo=UTC))
    )
    default = ReadModel()
    default.apply_event_record(old, [], "onenet.events.service")
    assert default.skipped_records == 1
    wide = ReadModel(time_range=TimeRange(datetime(1980, 1, 1, tzinfo=UTC)))
    wide.apply_event_record(old, [], "onenet.events.service")
    assert wide.skipped_records == 0
