"""The chaos run, short: two workers, three `kill -9`s, a SIGSTOP and a broker leader kill on
a three-node cluster, every planted alert exactly once; and a failed run still reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent


def chaos(tmp_path: Path, *args: str, timeout: float = 900) -> tuple[int, str, dict[str, Any]]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.chaos",
            "--runs",
            "1",
            "--results-dir",
            str(tmp_path),
            *list(args),
        ],
        cwd=REPO,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    document = json.loads((tmp_path / "chaos-latest.json").read_text())
    return done.returncode, done.stdout + done.stderr, document


def test_a_short_chaos_run_raises_every_planted_alert_exactly_once(tmp_path: Path) -> None:
    code, out, doc = chaos(tmp_path, "--events", "20000")
    (run,) = doc["results"]
    assert code == 0, out[-4000:]
    assert run["passed"], run
    assert len(run["faults"]) == 5
    assert sum(c["planted"] for c in run["per_rule"].values()) == 20
    assert all(c["fired"] == c["planted"] for c in run["per_rule"].values()), run["per_rule"]
    assert "│ inspection-overdue │ 4 / 4" in out  # the per-rule table's row


def test_a_failed_run_still_prints_its_per_rule_table_and_writes_its_json(
    tmp_path: Path,
) -> None:
    """Too short a drain timeout: the run fails, and still says what fired for which rule."""
    code, out, doc = chaos(tmp_path, "--events", "2000", "--no-faults", "--drain-timeout", "1")
    assert code == 1
    (run,) = doc["results"]
    assert not run["passed"]
    assert "still lags" in run["error"]
    assert doc["passed"] == 0
    assert sum(c["planted"] for c in run["per_rule"].values()) == 20, run
    assert "Chaos: 0 of 1 runs passed" in out
    assert "│ inspection-overdue" in out  # the per-rule table's row
