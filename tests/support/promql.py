"""Which metric names a PromQL expression reads, and which names the hub actually exports.

Good enough for the hub's own rules and dashboards (no string-valued metric names, no
`__name__` matchers): it drops strings, label matchers, ranges and grouping clauses, then keeps
identifiers that are neither functions, aggregations nor keywords.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import Counter, Gauge, Histogram

from hub import metrics

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "onenet-hub.json"
RECORDING = REPO / "deploy" / "prometheus" / "rules" / "recording.yml"
ALERTING = REPO / "deploy" / "prometheus" / "rules" / "alerts.yml"

# Series Prometheus itself makes: scrape health and alert state.
BUILTIN = {"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or"}
KEYWORDS |= {"unless", "bool", "offset", "inf", "nan", "atan2"}
NAME = re.compile(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"\{[^}]*\}", "", s)
    s = re.sub(r"\[[^\]]*\]", "", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", s)
    s = re.sub(r"\$\{?\w+\}?", "", s)
    found = set()
    for m in NAME.finditer(s):
        if s[m.end() :].lstrip().startswith("("):
            continue  # a function or an aggregation
        if m.group(0).lower() in KEYWORDS:
            continue
        found.add(m.group(0))
    return found


def exported_names() -> set[str]:
    """Every series name the hub's metric definitions expose (hub/metrics.py)."""
    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, Counter):
            names |= {f"{value._name}_total", f"{value._name}_created"}
        elif isinstance(value, Histogram):
            names |= {f"{value._name}_{s}" for s in ("bucket", "sum", "count", "created")}
        elif isinstance(value, Gauge):
            names.add(value._name)
    return names


def rules(path: Path) -> list[dict[str, object]]:
    doc = yaml.safe_load(path.read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def recorded_names() -> set[str]:
    return {str(r["record"]) for r in rules(RECORDING)}


def known_names() -> set[str]:
    """What an expression may read: exported series, recording rules, Prometheus's own."""
    return exported_names() | recorded_names() | BUILTIN


def dashboard(path: Path = DASHBOARD) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def dashboard_panels(path: Path = DASHBOARD) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for panel in dashboard(path)["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # collapsed rows keep their panels inside
    return out


def dashboard_expressions(path: Path = DASHBOARD) -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and annotation; variables are Grafana syntax."""
    exprs = [(p["title"], t["expr"]) for p in dashboard_panels(path) for t in p.get("targets", [])]
    exprs += [
        (f"annotation {a['name']}", a["expr"]) for a in dashboard(path)["annotations"]["list"]
    ]
    return exprs
