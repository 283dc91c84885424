"""The view with the real worker (`onenet worker`, whose lifecycle agent applies commands):
an acknowledgement and a resolution made through the view's API come back on the alerts topic
from the agent and show in the view."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.hubproc import Hub as WorkerHub
from tests.view.support import Hub, RunningView, make_alert, serve_view, wait_for


@pytest.fixture(scope="module")
def view_with_worker(hub: Hub) -> Iterator[RunningView]:
    worker_hub = WorkerHub(hub.bootstrap, hub.workdir, prefix=hub.prefix)
    with worker_hub.worker(), serve_view(hub) as view:
        yield view


def test_actions_go_through_the_worker_lifecycle_agent(
    hub: Hub, view_with_worker: RunningView
) -> None:
    view = view_with_worker
    hub.publish_alert(make_alert("wk-1", departments=["safety"]))
    with view.client("operator") as op, view.client("safety") as safety:
        wait_for(lambda: op.get("/api/alerts/wk-1").status_code == 200)

        def status() -> str:
            return str(op.get("/api/alerts/wk-1").json()["item"]["alert"]["status"])

        # the agent must have folded the alert before it can decide a command about it
        def acknowledged() -> bool:
            if status() == "acknowledged":
                return True
            r = safety.post("/api/alerts/wk-1/acknowledge")
            assert r.status_code in (202, 409), r.text
            return False

        wait_for(acknowledged, timeout=90, interval=3)
        assert safety.post("/api/alerts/wk-1/resolve", json={"note": "fixed"}).status_code == 202
        wait_for(lambda: status() == "resolved", timeout=30)
        item = op.get("/api/alerts/wk-1").json()["item"]
    assert item["kind"] == "resolved"
    assert item["alert"]["lifecycle"]["acknowledged_by"] == "Safety desk"
    assert item["alert"]["lifecycle"]["resolution_note"] == "fixed"
