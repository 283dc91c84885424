"""Shared plumbing of the benchmarks: repeated timing, summaries, tables, JSON, plots.

Every benchmark times whole runs with `time.perf_counter`, repeats them, and reports the
median with the min and max. Figures are compared with a baseline measured in the same run,
as a ratio, so a slower or busier machine shifts both sides alike.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PACKAGES = ("faust-streaming", "aiokafka", "kafka-python", "orjson", "pydantic")


@dataclass(frozen=True)
class Summary:
    """Median, min and max of repeated measurements (and the values themselves)."""

    median: float
    min: float
    max: float
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        if not values:
            raise ValueError("no measurements to summarise")
        return cls(statistics.median(values), min(values), max(values), tuple(values))

    def to_json(self) -> dict[str, Any]:
        return {"median": self.median, "min": self.min, "max": self.max, "runs": list(self.values)}


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """(seconds, result) of one call, by `perf_counter`."""
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def rates(count: int, seconds: Sequence[float]) -> list[float]:
    """Items per second of each run."""
    return [count / s if s > 0 else float("inf") for s in seconds]


def ratios(values: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """Run-by-run ratios: run i of `values` over run i of `baseline` (paired, same moment)."""
    return [v / b for v, b in zip(values, baseline, strict=True)]


def fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def fmt_summary(s: Summary, digits: int = 0, unit: str = "") -> str:
    """`median (min–max)`, or just the value when there was one run."""
    if len(s.values) == 1:
        return f"{fmt(s.median, digits)}{unit}"
    return f"{fmt(s.median, digits)}{unit} ({fmt(s.min, digits)}–{fmt(s.max, digits)})"


def make_console() -> Console:
    # Tables must not wrap in logs or pipes: fall back to a wide console when not a terminal.
    return Console(width=None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "160")))


def make_progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def print_table(
    console: Console,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    caption: str | None = None,
    left: int = 1,
) -> None:
    """A rich table; the first `left` columns are text, the others right-aligned numbers."""
    table = Table(title=title, caption=caption, caption_justify="left")
    for n, name in enumerate(columns):
        table.add_column(name, justify="left" if n < left else "right", no_wrap=n == 0)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def git_commit() -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=10
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    try:
        return {"commit": git("rev-parse", "HEAD") or None, "dirty": bool(git("status", "-s"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def environment() -> dict[str, Any]:
    """What the figures depend on: CPUs, load, Python, library versions, the commit."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
        "git": git_commit(),
    }


def write_json(name: str, payload: dict[str, Any], results_dir: Path = RESULTS_DIR) -> Path:
    """Write `<name>-<timestamp>.json` and `<name>-latest.json`; returns the timestamped path."""
    now = datetime.now(UTC)
    document = {
        "name": name,
        "timestamp": now.isoformat(),
        "environment": environment(),
        **payload,
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    body = orjson.dumps(document, option=orjson.OPT_INDENT_2)
    path = results_dir / f"{name}-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_bytes(body)
    (results_dir / f"{name}-latest.json").write_bytes(body)
    return path


def write_plot(
    name: str, draw: Callable[[Any], None], results_dir: Path = RESULTS_DIR
) -> Path | None:
    """Render `draw(figure)` to `<name>.png`; None when matplotlib (the `bench` extra) is
    missing, so the numbers never depend on the plot."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results_dir.mkdir(parents=True, exist_ok=True)
    fig = plt.figure(figsize=(9, 5), dpi=110)
    try:
        draw(fig)
        fig.tight_layout()
        path = results_dir / f"{name}.png"
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def report_files(console: Console, json_path: Path, plot: Path | None, wanted: bool) -> None:
    console.print(f"results: {json_path}")
    if plot is not None:
        console.print(f"plot:    {plot}")
    elif wanted:
        console.print("plot:    skipped, matplotlib is missing (pip install -e '.[bench]')")


def plot_rates(
    ax: Any, labels: Sequence[str], summaries: Sequence[Summary], *, title: str, log: bool = False
) -> None:
    """Horizontal bars of medians with min–max whiskers, each bar labelled with its median."""
    y = list(range(len(labels)))[::-1]
    # A run too short to time (a smoke test's tiny size) gives an infinite rate: no bar.
    shown = [s if math.isfinite(s.max) else Summary(0.0, 0.0, 0.0, ()) for s in summaries]
    medians = [s.median for s in shown]
    errors = [[s.median - s.min for s in shown], [s.max - s.median for s in shown]]
    ax.barh(y, medians, xerr=errors, color="#4c72b0", capsize=4)
    ax.set_yticks(y, labels)
    ax.set_xlabel("events per second (median, whiskers min–max)")
    ax.set_title(title)
    if log:
        ax.set_xscale("log")
    for yy, s in zip(y, shown, strict=True):
        ax.annotate(
            f"{s.median:,.0f}/s",
            (s.max, yy),
            va="center",
            ha="left",
            fontsize=8,
            xytext=(6, 0),
            textcoords="offset points",
        )
    if not log:
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:,.0f}")
    ax.margins(x=0.25)


def add_common_arguments(parser: argparse.ArgumentParser, *, runs: int) -> None:
    parser.add_argument(
        "--runs", type=positive, default=runs, help=f"repetitions of each measurement [{runs}]"
    )
    parser.add_argument("--seed", type=int, default=42, help="simulator seed [42]")
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=RESULTS_DIR,
        help="where the JSON and the PNG go [benchmarks/results]",
    )
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")


def positive(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


@contextmanager
def phase(progress: Progress, description: str, total: float | None = None) -> Iterator[Any]:
    """A progress task for one phase; yields a callable that advances it."""
    task = progress.add_task(description, total=total)

    def advance(n: float = 1) -> None:
        progress.advance(task, n)

    try:
        yield advance
    finally:
        progress.remove_task(task)
