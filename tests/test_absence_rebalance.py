"""An absence deadline fires on a worker that lost partitions in a rebalance.

The chaos run missed its `inspection-overdue` alerts: a worker decides which deadlines are due
by its slowest partition's watermark, and that still counted the partitions a rebalance had
handed to another worker. Their watermarks never move again on this worker, so no deadline of
the partitions it kept ever came due. Here one worker reads every partition, a second one
joins the group and takes some of them, and then inspections fall due on every partition: each
must raise its alert.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.events.fields import format_rfc3339
from tests.support.group import partitions_of, publish, wait_firing
from tests.support.hubproc import Hub
from tests.support.readings import reading

pytestmark = pytest.mark.integration

SITES = [f"CHEM-RB-{i:02d}" for i in range(18)]
PARTITIONS = 3
ENV = {
    "ONENET_WORKER_SESSION_TIMEOUT_S": "8",
    "ONENET_ALLOWED_LATENESS_S": "5",
    "ONENET_PARTITIONS": str(PARTITIONS),
}


def scheduled(site: str, due_by: datetime) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    return {
        "specversion": "1.0",
        "id": f"{site}-inspection",
        "source": "urn:test:inspections",
        "type": "city.safety.inspection.scheduled",
        "time": format_rfc3339(now),
        "district": "310101",
        "data": {
            "enterprise_id": f"ENT-{site}",
            "site_id": site,
            "due_by": format_rfc3339(due_by),
            "location": {"lat": 31.21, "lon": 121.49},
        },
    }


def test_a_deadline_fires_after_a_rebalance_took_partitions_away(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    hub = Hub.with_topics(kafka_bootstrap, tmp_path)
    safety = f"{hub.prefix}.events.safety"
    with hub.worker("a", **ENV):
        hub.wait_ready("a")
        # Worker a alone: every partition gets a watermark on it.
        publish(hub, tmp_path / "warm.jsonl", [reading(f"{s}-w", s, 0, 10) for s in SITES])
        hub.wait_consumed(safety)
        where = partitions_of(hub, safety, min_records=len(SITES))
        assert set(where.values()) == set(range(PARTITIONS)), f"a partition has no site: {where}"
        with hub.worker("b", **ENV):
            hub.wait_ready("b")  # the group rebalanced: a keeps some partitions, b the rest
            hub.wait_ready("a")
            # The inspections fall due (24 h after due_by) 20 s from now, after the rebalance.
            due_by = datetime.now(UTC) - timedelta(hours=24) + timedelta(seconds=20)
            publish(hub, tmp_path / "due.jsonl", [scheduled(s, due_by) for s in SITES])
            hub.wait_consumed(safety)
            wait_firing(hub, [f"{s}/ENT-{s}" for s in SITES], timeout=180)
