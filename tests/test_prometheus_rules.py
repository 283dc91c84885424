"""deploy/prometheus: promtool accepts the config and rules, and the rule unit tests pass.

promtool comes from Debian's `prometheus` package (installed by .ci/run). A missing promtool
fails with the command to install it: never a skip, which would look green.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.prometheus import PROMETHEUS_DIR, RULES_DIR, PrometheusMissing, binary
from tests.support.promql import ALERTING, RECORDING, known_names, metric_names, rules

REPO = Path(__file__).resolve().parent.parent
OPERATIONS = REPO / "docs" / "operations.md"
RULE_TESTS = sorted((RULES_DIR / "tests").glob("*.yml"))


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        exe = binary("promtool")
    except PrometheusMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, timeout=120, check=False, cwd=PROMETHEUS_DIR
    )


def test_promtool_check_config() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", str(RECORDING), str(ALERTING))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules() -> None:
    assert RULE_TESTS, "no rule unit tests in deploy/prometheus/rules/tests"
    result = promtool("test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", RULE_TESTS, ids=lambda p: p.name)
def test_rule_tests_fix_the_order_groups_are_evaluated_in(path: Path) -> None:
    """Recording groups before the alerts that read them, every step.

    Without `group_eval_order` promtool evaluates groups in random order, so an alert reads
    the recorded value of this step or of the one before, and an annotation that quotes it
    (the consumer lag) differs from run to run.
    """
    order = yaml.safe_load(path.read_text())["group_eval_order"]
    groups = [
        g["name"] for f in (RECORDING, ALERTING) for g in yaml.safe_load(f.read_text())["groups"]
    ]
    assert order == groups


@pytest.mark.parametrize(
    "rule", rules(RECORDING) + rules(ALERTING), ids=lambda r: str(r.get("record") or r.get("alert"))
)
def test_rules_read_only_metrics_the_hub_exports(rule: dict[str, object]) -> None:
    """A rule over a misspelt or renamed metric evaluates to nothing and never fires."""
    unknown = metric_names(str(rule["expr"])) - known_names()
    assert unknown == set(), f"not in hub/metrics.py nor a recording rule: {sorted(unknown)}"


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    out = set()
    for line in markdown.splitlines():
        m = re.match(r"^#{1,6}\s+(.*)$", line)
        if m:
            text = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
            out.add(text.replace(" ", "-"))
    return out


@pytest.mark.parametrize("rule", rules(ALERTING), ids=lambda r: str(r["alert"]))
def test_every_alert_has_severity_summary_and_a_runbook(rule: dict[str, object]) -> None:
    labels = rule.get("labels") or {}
    annotations = rule.get("annotations") or {}
    assert isinstance(labels, dict)
    assert isinstance(annotations, dict)
    assert labels.get("severity") in ("critical", "warning")
    assert annotations.get("summary")
    url = str(annotations.get("runbook_url", ""))
    page, _, anchor = url.partition("#")
    assert page == "docs/operations.md"
    assert anchor == str(rule["alert"]).lower()
    assert anchor in anchors(OPERATIONS.read_text()), f"docs/operations.md has no #{anchor}"


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for group in yaml.safe_load(path.read_text())["tests"]:
            for case in group.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {str(r["alert"]) for r in rules(ALERTING)}
    assert names - firing == set(), "alerts never shown firing"
    assert names - quiet == set(), "alerts never shown not firing"


@pytest.mark.parametrize(
    "path", sorted((PROMETHEUS_DIR / "targets").glob("*.json")), ids=lambda p: p.name
)
def test_file_sd_targets_are_well_formed(path: Path) -> None:
    """promtool does not read file_sd files; a broken one silently drops its targets."""
    groups = json.loads(path.read_text())
    assert isinstance(groups, list)
    assert groups
    for group in groups:
        assert set(group) <= {"targets", "labels"}
        for target in group["targets"]:
            assert re.fullmatch(r"[\w.\-\[\]:]+:\d{1,5}", target), target
        # these would clash with labels Prometheus or the hub's metrics set
        assert not set(group.get("labels", {})) & {"job", "instance", "connector", "topic"}
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    patterns = [
        f
        for job in config["scrape_configs"]
        for sd in job.get("file_sd_configs", [])
        for f in sd["files"]
    ]
    assert any(path.match(p) for p in patterns), f"{path.name} is not read by any job"
