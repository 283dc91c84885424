"""The control view's API on a real broker: lists, detail with evidence, actions through the
commands topic, the resumable stream, the red/black list, CAP export, and a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import pytest

from hub.alerts.lifecycle import LIFECYCLE_SOURCE
from hub.alerts.model import Severity
from hub.view.cap import CAP_NS
from tests.view.support import (
    CommandApplier,
    Hub,
    RunningView,
    SseReader,
    bearer,
    h2_event,
    make_alert,
    serve_view,
    service_event,
    wait_for,
)

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def seeded(hub: Hub) -> Hub:
    """Evidence events, alerts for three departments, and hotline requests for the SLA list."""
    for i in range(3):
        hub.publish_event(
            "safety",
            h2_event(
                f"ev-{i}",
                "S-1",
                4000 + i * 1000,
                NOW - timedelta(minutes=5, seconds=-i),
                31.23,
                121.47,
            ),
        )
    hub.publish_alert(
        make_alert("safe-1", departments=["safety"], evidence=["ev-0", "ev-1", "ev-2", "ev-gone"])
    )
    hub.publish_alert(
        make_alert(
            "sec-1",
            departments=["security"],
            severity=Severity.EXTREME,
            rule="incident-burst",
            category="Security",
            headline="secret security headline",
            district="310102",
            location=(31.25, 121.50),
        )
    )
    hub.publish_alert(
        make_alert("both-1", departments=["safety", "security"], rule="hazard-near-crowd")
    )
    hub.publish_alert(
        make_alert(
            "svc-1",
            departments=["service"],
            severity=Severity.MINOR,
            rule="service-sla-breach",
            category="Other",
            district="310103",
            location=None,
        )
    )
    opened = NOW - timedelta(days=5)
    requests = [
        ("sanitation", "r-s1", timedelta(hours=2)),
        ("sanitation", "r-s2", timedelta(hours=10)),
        ("sanitation", "r-s3", timedelta(hours=80)),
        ("water", "r-w1", timedelta(hours=1)),
        ("water", "r-w2", None),
    ]
    for dept, rid, took in requests:
        hub.publish_event("service", service_event(f"{rid}-o", "opened", rid, dept, opened))
        if took is not None:
            hub.publish_event(
                "service", service_event(f"{rid}-c", "closed", rid, dept, opened + took)
            )
    hub.publish_event(
        "service", service_event("r-p1-o", "opened", "r-p1", "parks", NOW - timedelta(hours=1))
    )
    return hub


@pytest.fixture(scope="module")
def applier(seeded: Hub) -> Iterator[CommandApplier]:
    with CommandApplier(seeded) as a:
        yield a


@pytest.fixture(scope="module")
def view(seeded: Hub, applier: CommandApplier) -> Iterator[RunningView]:
    with serve_view(seeded) as v:
        yield v


def status_of(view: RunningView, alert_id: str) -> str:
    with view.client("operator") as c:
        return str(c.get(f"/api/alerts/{alert_id}").json()["item"]["alert"]["status"])


# --- reading ----------------------------------------------------------------------------------


def test_lists_are_scoped_by_role(view: RunningView) -> None:
    def ids(who: str, **params: str) -> set[str]:
        with view.client(who) as c:
            r = c.get("/api/alerts", params=params)
            assert r.status_code == 200, r.text
            return {i["alert"]["alert_id"] for i in r.json()["items"]}

    base = {"safe-1", "sec-1", "both-1", "svc-1"}
    assert base <= ids("operator")
    assert base <= ids("viewer")
    assert ids("safety") >= {"safe-1", "both-1"}
    assert not ids("safety") & {"sec-1", "svc-1"}
    assert ids("security") >= {"sec-1", "both-1"}
    assert not ids("security") & {"safe-1", "svc-1"}
    # filters cannot widen the scope
    assert "sec-1" not in ids("safety", q="sec-1")
    assert "sec-1" not in ids("safety", department="security")
    assert "sec-1" not in ids("safety", district="310102")


def test_filters(view: RunningView) -> None:
    with view.client("operator") as c:

        def ids(params: dict[str, str | list[str]]) -> set[str]:
            return {
                i["alert"]["alert_id"] for i in c.get("/api/alerts", params=params).json()["items"]
            }

        assert ids({"severity": "Extreme"}) >= {"sec-1"}
        assert "safe-1" not in ids({"severity": "Extreme"})
        assert ids({"severity": ["Minor", "Extreme"]}) >= {"sec-1", "svc-1"}
        assert ids({"category": "Security"}) >= {"sec-1"}
        assert "sec-1" in ids({"district": "310102"})
        assert "safe-1" not in ids({"district": "310102"})
        assert ids({"department": "service"}) >= {"svc-1"}
        assert ids({"q": "SECRET security"}) == {"sec-1"}
        assert ids({"since": (NOW + timedelta(hours=1)).isoformat()}) == set()
        assert "safe-1" in ids({"since": (NOW - timedelta(hours=1)).isoformat()})
        assert ids({"until": (NOW - timedelta(hours=1)).isoformat()}) == set()
        r = c.get("/api/alerts", params={"severity": "Catastrophic"})
        assert r.status_code == 422
        body = c.get("/api/alerts").json()
        assert body["facets"]["open_by_severity"]["Extreme"] >= 1
        assert body["cursor"].count("-") == 1


def test_detail_has_the_evidence_timeline(view: RunningView) -> None:
    with view.client("safety") as c:
        detail = wait_for(
            lambda: (d := c.get("/api/alerts/safe-1").json()) and len(d["evidence"]) == 3 and d
        )
    assert [e["id"] for e in detail["evidence"]] == ["ev-0", "ev-1", "ev-2"]
    assert detail["evidence"][0]["type"] == "city.safety.hydrogen.reading"
    assert detail["evidence"][2]["data"]["h2_ppm"] == 6000
    assert detail["missing_evidence"] == ["ev-gone"]


def test_cap_export(view: RunningView) -> None:
    with view.client("security") as c:
        r = c.get("/api/alerts/sec-1/cap")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/cap+xml")
    root = ET.fromstring(r.content)
    ns = {"cap": CAP_NS}
    assert root.tag == f"{{{CAP_NS}}}alert"
    assert root.findtext("cap:msgType", namespaces=ns) == "Alert"
    assert root.findtext("cap:info/cap:severity", namespaces=ns) == "Extreme"
    assert root.findtext("cap:info/cap:category", namespaces=ns) == "Security"
    assert (
        root.findtext("cap:info/cap:area/cap:circle", namespaces=ns) == "31.250000,121.500000 0.5"
    )


def test_ranking_is_the_red_black_list(view: RunningView) -> None:
    with view.client("viewer") as c:
        r = wait_for(
            lambda: (
                (b := c.get("/api/departments/ranking", params={"size": 1}).json())
                and len(b["departments"]) == 3
                and b
            )
        )
    by = {d["department"]: d for d in r["departments"]}
    assert by["sanitation"]["compliance"] == pytest.approx(2 / 3, abs=1e-3)
    assert by["sanitation"]["closed_late"] == 1
    assert by["water"]["compliance"] == 0.5
    assert by["water"]["open_overdue"] == 1
    assert by["parks"]["compliance"] is None
    assert by["parks"]["open_pending"] == 1
    assert r["target"] == 0.9
    assert r["red"] == []  # nobody reaches 90 %
    assert [d["department"] for d in r["black"]] == ["water"]


def test_map_shades_open_alert_cells_in_scope(view: RunningView) -> None:
    with view.client("safety") as c:
        m = c.get("/api/map").json()
    shown = {a for cell in m["alerts"] for a in cell["alert_ids"]}
    assert "safe-1" in shown
    assert "sec-1" not in shown
    assert m["background"], "the city grid comes from event locations"
    assert all(len(c["boundary"]) >= 5 for c in m["alerts"])


def test_health_readiness_and_metrics(view: RunningView) -> None:
    with view.client() as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["ready"] is True
        text = c.get("/metrics").text
    assert 'onenet_http_requests_total{code="200",handler="/api/alerts",method="GET"}' in text
    assert "onenet_sse_clients" in text


# --- acting -----------------------------------------------------------------------------------


def test_acknowledge_resolve_comment_assign(seeded: Hub, view: RunningView) -> None:
    seeded.publish_alert(make_alert("act-1", departments=["safety"]))
    with view.client("operator") as op, view.client("safety") as safety:
        wait_for(lambda: op.get("/api/alerts/act-1").status_code == 200)
        r = safety.post("/api/alerts/act-1/acknowledge", json={"note": "on my way"})
        assert r.status_code == 202, r.text
        assert r.json()["expected_status"] == "acknowledged"
        wait_for(lambda: status_of(view, "act-1") == "acknowledged")
        again = safety.post("/api/alerts/act-1/acknowledge")
        assert again.status_code == 409
        assert again.json()["reason"] == "already-acknowledged"
        assert safety.post("/api/alerts/act-1/resolve", json={}).status_code == 422
        assert (
            op.post("/api/alerts/act-1/comment", json={"text": "crew dispatched"}).status_code
            == 202
        )
        wait_for(
            lambda: op.get("/api/alerts/act-1").json()["item"]["alert"]["lifecycle"]["comments"]
        )
        # assigning makes the alert visible and actionable for the assignee
        with view.client("security") as sec:
            assert sec.get("/api/alerts/act-1").status_code == 404
            assert (
                op.post("/api/alerts/act-1/assign", json={"department": "security"}).status_code
                == 202
            )
            wait_for(lambda: sec.get("/api/alerts/act-1").status_code == 200)
            r = sec.post("/api/alerts/act-1/resolve", json={"note": "valve closed"})
            assert r.status_code == 202, r.text
        wait_for(lambda: status_of(view, "act-1") == "resolved")
        alert = op.get("/api/alerts/act-1").json()["item"]["alert"]
    lc = alert["lifecycle"]
    assert lc["acknowledged_by"] == "Safety desk"
    assert lc["resolved_by"] == "Security desk"
    assert lc["resolution_note"] == "valve closed"
    assert lc["assigned_to"] == "security"
    assert lc["comments"][0]["text"] == "crew dispatched"


def test_correlator_updates_keep_what_people_did(seeded: Hub, view: RunningView) -> None:
    alert = make_alert("keep-1", departments=["safety"])
    seeded.publish_alert(alert)
    with view.client("operator") as op:
        wait_for(lambda: op.get("/api/alerts/keep-1").status_code == 200)
        assert op.post("/api/alerts/keep-1/acknowledge").status_code == 202
        wait_for(lambda: status_of(view, "keep-1") == "acknowledged")
        alert.evidence = ["x-1", "x-2"]
        seeded.publish_alert(alert, "updated")
        got = wait_for(
            lambda: (
                (a := op.get("/api/alerts/keep-1").json()["item"])
                and a["kind"] == "updated"
                and a["alert"]
            )
        )
    assert got["status"] == "acknowledged"
    assert got["lifecycle"]["acknowledged_by"] == "Olga Operator"
    assert got["evidence"] == ["x-1", "x-2"]


# --- the stream -------------------------------------------------------------------------------


def test_stream_resumes_from_last_event_id(seeded: Hub, view: RunningView) -> None:
    url = f"{view.url}/api/stream"
    with view.client("operator") as op:
        cursor = op.get("/api/alerts").json()["cursor"]
    seeded.publish_alert(make_alert("sse-1", departments=["safety"]))
    with view.client("operator") as op:
        wait_for(lambda: op.get("/api/alerts/sse-1").status_code == 200)
    # resume from a cursor taken before sse-1: the backlog carries it
    with SseReader(url, {**bearer("operator"), "Last-Event-ID": cursor}) as s:
        wait_for(lambda: "sse-1" in s.alert_ids())
        first = next(e for e in s.of("alert") if e.data["alert"]["alert_id"] == "sse-1")
        assert first.id
        assert first.id.split("-")[0] == cursor.split("-")[0]
        assert int(first.id.split("-")[1]) > int(cursor.split("-")[1])
    # resume after sse-1: no backlog, but what comes next
    with SseReader(url, {**bearer("operator"), "Last-Event-ID": str(first.id)}) as s:
        wait_for(lambda: s.of("hello"))
        seeded.publish_alert(make_alert("sse-2", departments=["safety"]))
        wait_for(lambda: "sse-2" in s.alert_ids())
        assert "sse-1" not in s.alert_ids()
    # a cursor of another process (or too old): reset, reload the list
    with SseReader(url, {**bearer("operator"), "Last-Event-ID": "0badcafe-3"}) as s:
        wait_for(lambda: s.of("reset"))
    # ?after= does the same for the first connection
    with SseReader(f"{url}?after={cursor}", bearer("operator")) as s:
        wait_for(lambda: {"sse-1", "sse-2"} <= set(s.alert_ids()))


def test_new_alert_reaches_the_stream_within_a_second(seeded: Hub, view: RunningView) -> None:
    with SseReader(f"{view.url}/api/stream", bearer("viewer")) as s:
        wait_for(lambda: s.of("hello"))
        started = time.monotonic()
        seeded.publish_alert(make_alert("fast-1", departments=["water"]))
        wait_for(lambda: "fast-1" in s.alert_ids(), timeout=5, interval=0.01)
        assert time.monotonic() - started < 1.0


def test_department_stream_never_carries_other_departments_alerts(
    seeded: Hub, view: RunningView
) -> None:
    url = f"{view.url}/api/stream"
    with (
        SseReader(url, bearer("safety")) as safety,
        SseReader(url, bearer("security")) as security,
    ):
        wait_for(lambda: safety.of("hello") and security.of("hello"))
        seeded.publish_alert(make_alert("only-sec", departments=["security"]))
        seeded.publish_alert(make_alert("only-safe", departments=["safety"]))
        wait_for(lambda: "only-safe" in safety.alert_ids() and "only-sec" in security.alert_ids())
        time.sleep(0.3)
        assert "only-sec" not in safety.alert_ids()
        assert "only-safe" not in security.alert_ids()
    # nor does a resumed department stream's backlog
    with SseReader(url, {**bearer("safety"), "Last-Event-ID": safety.of("hello")[0].id or ""}) as s:
        wait_for(lambda: "only-safe" in s.alert_ids())
        assert "only-sec" not in s.alert_ids()


# --- restart ----------------------------------------------------------------------------------


def test_a_restarted_view_shows_the_same_states(seeded: Hub, view: RunningView) -> None:
    seeded.publish_alert(make_alert("restart-1", departments=["safety"]))
    with view.client("operator") as op:
        wait_for(lambda: op.get("/api/alerts/restart-1").status_code == 200)
        assert op.post("/api/alerts/restart-1/acknowledge").status_code == 202
        wait_for(lambda: status_of(view, "restart-1") == "acknowledged")
        before = {
            i["alert"]["alert_id"]: i["alert"]
            for i in op.get("/api/alerts", params={"limit": 1000}).json()["items"]
        }
    with serve_view(seeded) as again, again.client("operator") as op2:
        after = {
            i["alert"]["alert_id"]: i["alert"]
            for i in op2.get("/api/alerts", params={"limit": 1000}).json()["items"]
        }
    assert after["restart-1"]["status"] == "acknowledged"
    assert after == before


def test_lifecycle_source_events_replace_state(seeded: Hub, view: RunningView) -> None:
    """A lifecycle event carries the whole new state (the worker decided it)."""
    alert = make_alert("lc-1", departments=["safety"])
    seeded.publish_alert(alert)
    resolved = alert.model_copy(update={"status": "resolved"})
    seeded.publish_alert(resolved, "resolved", source=LIFECYCLE_SOURCE)
    wait_for(lambda: status_of(view, "lc-1") == "resolved")
