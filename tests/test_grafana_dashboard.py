"""deploy/grafana: the dashboard is valid JSON and every query reads metrics the hub exports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support.promql import (
    dashboard,
    dashboard_expressions,
    dashboard_panels,
    known_names,
    metric_names,
)

GRAFANA = Path(__file__).resolve().parent.parent / "deploy" / "grafana"


def expressions() -> list[tuple[str, str]]:
    """Panel and annotation queries, plus the variables' metric lookups as PromQL."""
    variables = [
        (f"variable {v['name']}", re.sub(r"^label_values\((.*), *\w+\)$", r"\1", v["definition"]))
        for v in dashboard()["templating"]["list"]
    ]
    return dashboard_expressions() + variables


def datasource_uid() -> str:
    doc = yaml.safe_load((GRAFANA / "provisioning" / "datasources.yml").read_text())
    (source,) = doc["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://localhost:9090"
    return str(source["uid"])


def test_dashboard_is_well_formed() -> None:
    d = dashboard()
    assert d["uid"] == "onenet-hub"
    assert d["title"]
    ids = [p["id"] for p in dashboard_panels()]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    uid = datasource_uid()
    for p in dashboard_panels():
        pos = p["gridPos"]
        assert pos["x"] >= 0, p["title"]
        assert pos["x"] + pos["w"] <= 24, p["title"]
        if p["type"] != "row":
            assert p["datasource"]["uid"] == uid, p["title"]
            assert p["targets"], f"{p['title']} has no query"
            assert all(t["datasource"]["uid"] == uid for t in p["targets"])


@pytest.mark.parametrize(("where", "expr"), expressions(), ids=lambda v: str(v)[:60])
def test_every_expression_reads_known_metrics(where: str, expr: str) -> None:
    names = metric_names(expr)
    assert names, f"{where}: no metric found in {expr!r}"
    unknown = names - known_names()
    assert unknown == set(), f"{where}: not in hub/metrics.py nor a recording rule: {unknown}"


def test_dashboard_covers_what_sres_asked_for() -> None:
    used = set().union(*(metric_names(e) for _, e in expressions()))
    assert {
        "onenet_events_consumed_total",  # throughput
        "onenet_connector_events_published_total",
        "onenet:consumer_lag:sum",  # lag
        "onenet_consumer_lag_messages",
        "onenet_event_to_alert_seconds_bucket",  # latency percentiles
        "onenet_events_rejected_total",  # dead letters by reason
        "onenet_connector_events_rejected_total",
        "onenet_alert_changes_total",  # alerts by severity and rule
        "onenet_connector_last_publish_timestamp_seconds",  # connector health
        "onenet_connector_send_errors_total",
        "onenet_event_processing_seconds_bucket",  # worker processing time
    } <= used


def test_dashboard_provisioning_points_at_a_folder() -> None:
    doc = yaml.safe_load((GRAFANA / "provisioning" / "dashboards.yml").read_text())
    (provider,) = doc["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"]


def test_metric_names_finds_series_not_functions_labels_or_keywords() -> None:
    expr = (
        'sum by (le, rule) (rate(foo_bucket{rule!~"a|b", job="x"}[5m])) / on (rule) '
        "group_left bar:rate5m > 0.5 and time() - baz_timestamp_seconds offset 1m or vector(0)"
    )
    assert metric_names(expr) == {"foo_bucket", "bar:rate5m", "baz_timestamp_seconds"}
