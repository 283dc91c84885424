"""The benchmarks still run: tiny sizes, one run, a table and a valid JSON. No timing asserted."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.common import Summary, rates, ratios, write_json

REPO = Path(__file__).resolve().parent.parent
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
STATS = {"median", "min", "max", "runs"}


def run_bench(module: str, *args: str, timeout: float = 240, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *args],
        cwd=REPO,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def latest(results: Path, name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((results / f"{name}-latest.json").read_text())
    assert {"name", "timestamp", "environment", "parameters", "results"} <= document.keys()
    assert document["name"] == name
    env = document["environment"]
    assert {"cpu_count", "python", "packages", "git"} <= env.keys()
    assert {"faust-streaming", "aiokafka", "kafka-python"} <= env["packages"].keys()
    assert len(list(results.glob(f"{name}-2*.json"))) == 1  # the timestamped copy
    for row in document["results"]:
        assert row["events_per_s"].keys() >= STATS
        assert row["ratio"].keys() >= STATS
    if HAS_MATPLOTLIB:
        assert Path(document["plot"]).is_file()
    return document


@pytest.mark.parametrize("module", ["bench_pipeline", "bench_worker", "chaos"])
def test_every_benchmark_explains_itself(module: str) -> None:
    out = run_bench(module, "--help", timeout=60)
    assert "usage:" in out
    assert "--events" in out
    assert "--runs" in out


def test_pipeline_benchmark_runs_small(tmp_path: Path) -> None:
    out = run_bench(
        "bench_pipeline", "--events", "300", "--runs", "1", "--results-dir", str(tmp_path)
    )
    assert "Pipeline stages" in out
    assert "top 10 by cumulative time" in out
    doc = latest(tmp_path, "pipeline")
    assert [r["case"] for r in doc["results"]] == ["baseline", "parse", "fact", "correlate"]
    assert all(r["events"] == 300 for r in doc["results"])
    assert {"us_per_event", "us_added", "seconds"} <= doc["results"][0].keys()
    assert len(doc["profile"]) == 10
    assert {"function", "calls", "own_s", "cumulative_s"} <= doc["profile"][0].keys()
    assert doc["correlate"]["outcomes"]  # the rules saw events


def test_worker_and_runner_benchmark_runs_small(kafka_bootstrap: str, tmp_path: Path) -> None:
    out = run_bench(
        "bench_worker",
        "--events",
        "300",
        "--runs",
        "1",
        "--results-dir",
        str(tmp_path),
        timeout=280,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
    )
    assert "Worker vs raw consume loop" in out
    assert "Runner vs raw producer loop" in out
    doc = latest(tmp_path, "worker")
    assert [r["case"] for r in doc["results"]] == [
        "consume-baseline",
        "worker-raw",
        "worker-excl-startup",
        "worker-processing",
        "producer-baseline",
        "runner",
    ]
    (run,) = doc["worker_runs"]
    assert {"startup_s", "processed_s", "committed_s", "drained_s", "alert_records"} <= run.keys()
    assert doc["startup_s"].keys() >= STATS


def test_the_soak_explains_itself() -> None:
    out = run_bench("soak", "--help", timeout=60)
    assert "--events" in out
    assert "--retention-s" in out


def test_soak_benchmark_runs_small(kafka_bootstrap: str, tmp_path: Path) -> None:
    out = run_bench(
        "soak",
        *("--events", "1500", "--alerts", "150", "--chunks", "3"),
        *("--retention-s", "2", "--settle-s", "3", "--sample-s", "0.5"),
        *("--results-dir", str(tmp_path)),
        timeout=280,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
    )
    assert "RSS over 1,500 events, 150 alerts" in out
    doc = json.loads((tmp_path / "soak-latest.json").read_text())
    assert [r["process"] for r in doc["results"]] == ["worker", "view"]
    for row in doc["results"]:
        assert {"idle_mb", "middle_mb", "end_mb", "peak_mb", "growth_second_half_pct"} <= row.keys()
        assert row["idle_mb"] > 0
    assert doc["alert_changes"]["firing"] == 150  # every leak group fired once
    assert doc["alert_changes"].get("resolved", 0) > 0
    samples = doc["samples"]
    assert samples[-1]["published"] == 1500
    assert all(s["worker_mb"] and s["view_mb"] for s in samples[1:-1])
    if HAS_MATPLOTLIB:
        assert Path(doc["plot"]).is_file()


def test_summary_and_json_writer(tmp_path: Path) -> None:
    s = Summary.of([3.0, 1.0, 2.0])
    assert (s.median, s.min, s.max) == (2.0, 1.0, 3.0)
    assert rates(10, [2.0, 5.0]) == [5.0, 2.0]
    assert ratios([2.0, 6.0], [1.0, 3.0]) == [2.0, 2.0]
    path = write_json("unit", {"parameters": {}, "results": [], "x": s.to_json()}, tmp_path)
    assert json.loads(path.read_text())["x"]["runs"] == [3.0, 1.0, 2.0]
    assert (tmp_path / "unit-latest.json").read_bytes() == path.read_bytes()
