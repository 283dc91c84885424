"""Memory over a long run: does the resident memory of a worker and of the control view level
off while alerts keep firing and resolving?

Set-up: a broker (KAFKA_BOOTSTRAP_SERVERS / --bootstrap, else a local jar broker in a temporary
state folder, stopped at the end), contract topics under a unique prefix (3 partitions), then
`onenet worker` and `onenet view` as subprocesses with `ONENET_RESOLVED_RETENTION_S` set to
--retention-s. N hydrogen readings are published in chunks, `onenet publish`'s pipeline, while
a sampler reads both processes' RSS from /proc every --sample-s:

    per alert   three readings >= 4000 ppm at one site within 10 s (`hydrogen-leak` fires;
                it resolves once the stream has moved a window past it)
    the rest    readings below the threshold at other sites (evidence, the city grid)

Baseline, measured in the same run: each process's RSS once started and idle. The verdict per
process is the growth over the second half of the run (from the middle of the time between
the first event published and the end of sampling, to that end): flat when under --flat-pct.

    .venv/bin/python -m benchmarks.soak [--events 500000] [--alerts 50000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from kafka import TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from benchmarks.bench_worker import (
    ONENET,
    PARTITIONS,
    _committed,
    _free_port,
    _log_excerpt,
    _reached,
    _stop,
    cleanup,
    end_offsets,
    event_partitions,
    obtain_broker,
)
from benchmarks.common import make_console, positive, print_table, report_files, write_json
from benchmarks.common import write_plot as render
from hub.kafka import admin, contract_topics, ensure_topics
from hub.kafka import producer as hub_producer
from hub.publish import publish_lines
from hub.settings import Settings
from hub.topics import Topics
from hub.view.auth import tokens_entry

NAME = "soak"
SITES = 1000  # leak sites, reused: one site's episodes are far apart in event time
STEP_S = 30.0  # event time between two alerts' readings
PAGE_KB = 1024


@dataclass
class Sample:
    t: float  # seconds since the processes started
    worker_mb: float | None
    view_mb: float | None
    published: int


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process from /proc (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / PAGE_KB
    except OSError:
        return None
    return None


def _reading(eid: str, site: int, at: datetime, ppm: float) -> bytes:
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": eid,
            "source": "urn:bench:soak",
            "type": "city.safety.hydrogen.reading",
            "time": at.isoformat().replace("+00:00", "Z"),
            "district": f"3101{site % 6:02d}",
            "data": {
                "site_id": f"SOAK-{site}",
                "sensor_id": f"SOAK-{site}-S1",
                "h2_ppm": ppm,
                "location": {
                    "lat": 31.15 + (site % 40) * 0.004,
                    "lon": 121.35 + site // 40 * 0.004,
                },
            },
        }
    )


def make_events(count: int, alerts: int) -> Iterator[bytes]:
    """`alerts` groups of three leak readings and filler readings, ending about now."""
    filler = max(0, count - 3 * alerts) / alerts
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=alerts * STEP_S)
    made = 0
    for g in range(alerts):
        at = start + timedelta(seconds=g * STEP_S)
        site = g % SITES
        for k in range(3):
            yield _reading(f"soak-{g}-{k}", site, at + timedelta(seconds=5 * k), 4500)
        quiet = round((g + 1) * filler) - round(g * filler)
        for k in range(quiet):
            other = SITES + (g * 7 + k) % SITES  # never a leak site
            yield _reading(f"soak-{g}-q{k}", other, at + timedelta(seconds=k % 30), 200)
        made += 3 + quiet
        if made >= count:
            return


class Sampler(threading.Thread):
    def __init__(self, pids: dict[str, int], every: float) -> None:
        super().__init__(daemon=True)
        self.pids, self.every = pids, every
        self.samples: list[Sample] = []
        self.published = 0
        self.started_at = time.monotonic()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.samples.append(
                Sample(
                    round(time.monotonic() - self.started_at, 2),
                    rss_mb(self.pids["worker"]),
                    rss_mb(self.pids["view"]),
                    self.published,
                )
            )
            self._stop_event.wait(self.every)

    def now(self) -> float:
        return time.monotonic() - self.started_at

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


def _wait_up(worker_url: str, view_url: str, procs: dict[str, subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 240
    with httpx.Client(timeout=2) as http:
        for name, url in (("worker", worker_url), ("view", view_url)):
            while True:
                if procs[name].poll() is not None:
                    raise RuntimeError(f"the {name} exited with {procs[name].returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(url).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the {name} did not come up")
                time.sleep(0.2)


def alert_changes(http: httpx.Client, url: str) -> dict[str, float]:
    """Alert changes by kind from a worker's /metrics."""
    kinds: dict[str, float] = {}
    with contextlib.suppress(httpx.HTTPError):
        for family in text_string_to_metric_families(http.get(url).text):
            for s in family.samples:
                if s.name == "onenet_alert_changes_total":
                    kinds[s.labels["kind"]] = kinds.get(s.labels["kind"], 0) + s.value
    return kinds


def at_time(samples: Sequence[Sample], t: float, field: str) -> float | None:
    """The last sample's value at or before `t`."""
    value = None
    for s in samples:
        if s.t > t:
            break
        value = getattr(s, field) or value
    return value


def verdict(
    samples: Sequence[Sample], idle_until: float, end: float, flat: float
) -> list[dict[str, Any]]:
    """Per process: RSS idle, in the middle of the feed, at the end; flat or not."""
    rows = []
    middle = idle_until + (end - idle_until) / 2
    for name in ("worker", "view"):
        field = f"{name}_mb"
        values = [getattr(s, field) for s in samples if getattr(s, field) is not None]
        base = at_time(samples, idle_until, field)
        mid = at_time(samples, middle, field)
        last = at_time(samples, end, field)
        growth = (last - mid) / mid * 100 if mid and last else None
        rows.append(
            {
                "process": name,
                "idle_mb": base,
                "middle_mb": mid,
                "end_mb": last,
                "peak_mb": max(values, default=None),
                "growth_second_half_pct": growth,
                "flat": growth is not None and growth < flat,
            }
        )
    return rows


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="benchmarks.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=positive, default=500_000, help="events fed [500000]")
    p.add_argument("--alerts", type=positive, default=50_000, help="alerts they make [50000]")
    p.add_argument("--chunks", type=positive, default=50, help="publish in this many parts [50]")
    p.add_argument("--retention-s", type=float, default=60.0, help="resolved retention [60]")
    p.add_argument("--sample-s", type=float, default=1.0, help="RSS sampling period [1]")
    p.add_argument("--settle-s", type=float, default=20.0, help="sampling after the end [20]")
    p.add_argument("--flat-pct", type=float, default=10.0, help="flat below this growth [10]")
    p.add_argument("--timeout", type=float, default=3600.0, help="for the whole feed [3600]")
    p.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    p.add_argument("--results-dir", type=Path, default=Path(__file__).parent / "results")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG")
    args = p.parse_args(argv)
    if args.alerts * 3 > args.events:
        p.error("--events must be at least three per alert")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = make_console()
    prefix = f"soak{uuid.uuid4().hex[:8]}"
    topics = Topics(prefix)
    app_id = f"{prefix}-hub"
    events = list(make_events(args.events, args.alerts))
    with obtain_broker(args.bootstrap, console) as (bootstrap, ours):
        settings = Settings(
            kafka_bootstrap_servers=bootstrap, topic_prefix=prefix, partitions=PARTITIONS
        )
        ensure_topics(bootstrap, contract_topics(settings))
        try:
            payload = run(args, console, bootstrap, topics, app_id, events)
        finally:
            if not ours:
                cleanup(bootstrap, prefix, [app_id])
    rows = payload["results"]
    print_table(
        console,
        f"RSS over {args.events:,} events, {args.alerts:,} alerts (MB)",
        ["process", "idle (baseline)", "middle", "end", "peak", "growth 2nd half", "flat"],
        [
            [
                r["process"],
                *(
                    f"{r[k]:,.1f}" if r[k] is not None else "-"
                    for k in ("idle_mb", "middle_mb", "end_mb", "peak_mb")
                ),
                f"{r['growth_second_half_pct']:+.1f} %"
                if r["growth_second_half_pct"] is not None
                else "-",
                "yes" if r["flat"] else "no",
            ]
            for r in rows
        ],
        caption=(
            f"alert changes {payload['alert_changes']}; fed in {payload['feed_s']:.0f} s, "
            f"processed by {payload['processed_s']:.0f} s; retention {args.retention_s:g} s; "
            f"flat: growth over the second half of the run < {args.flat_pct:g} %"
        ),
    )
    plot = None if args.no_plot else _plot(payload, args.results_dir)
    if plot is not None:
        payload["plot"] = str(plot)
    path = write_json(NAME, payload, args.results_dir)
    report_files(console, path, plot, not args.no_plot)
    return 0


def run(
    args: argparse.Namespace,
    console: Console,
    bootstrap: str,
    topics: Topics,
    app_id: str,
    events: list[bytes],
) -> dict[str, Any]:
    workdir = Path(args.results_dir) / f".{NAME}-{topics.prefix}"
    (workdir / "state").mkdir(parents=True, exist_ok=True)
    tokens = workdir / "tokens.toml"
    tokens.write_text(tokens_entry(uuid.uuid4().hex, name="soak", role="viewer"))
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ONENET_TOPIC_PREFIX": topics.prefix,
        "ONENET_APP_ID": app_id,
        "ONENET_PARTITIONS": str(PARTITIONS),
        "ONENET_STATE_DIR": str(workdir / "state"),
        "ONENET_RESOLVED_RETENTION_S": f"{args.retention_s:g}",
    }
    cmd = [ONENET] if ONENET else [sys.executable, "-c", "from hub.cli import main; main()"]
    metrics_port, view_port = _free_port(), _free_port()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs = {n: (workdir / f"{n}.log").open("wb") for n in ("worker", "view")}
    ends: dict[TopicPartition, int] = {}
    try:
        procs["worker"] = subprocess.Popen(
            [*cmd, "worker", "--metrics-port", str(metrics_port)],
            env=env,
            cwd=workdir,
            stdout=logs["worker"],
            stderr=subprocess.STDOUT,
        )
        procs["view"] = subprocess.Popen(
            [*cmd, "view", "--port", str(view_port), "--tokens-file", str(tokens)],
            env=env,
            cwd=workdir,
            stdout=logs["view"],
            stderr=subprocess.STDOUT,
        )
        worker_url = f"http://127.0.0.1:{metrics_port}/metrics"
        sampler = Sampler({n: p.pid for n, p in procs.items()}, args.sample_s)
        sampler.start()
        with console.status("starting the worker and the view"):
            _wait_up(worker_url, f"http://127.0.0.1:{view_port}/readyz", procs)
            time.sleep(3 * args.sample_s)  # idle samples: the baseline
        idle_until = sampler.now()
        producer = hub_producer(bootstrap)
        size = -(-len(events) // args.chunks)
        with console.status("publishing") as status:
            for i in range(0, len(events), size):
                chunk = events[i : i + size]
                publish_lines(
                    producer,
                    topics,
                    list(enumerate(chunk, start=1 + i)),
                    origin="soak",
                    max_bytes=65536,
                )
                sampler.published += len(chunk)
                status.update(f"publishing: {sampler.published:,} of {len(events):,}")
        producer.close()
        fed = sampler.now()
        ends = end_offsets(bootstrap, event_partitions(topics))
        client = admin(bootstrap)
        with console.status("waiting for the worker to process everything"):
            while not _reached(_committed(client, app_id, list(ends)), ends):
                for name, proc in procs.items():
                    if proc.poll() is not None:
                        raise RuntimeError(
                            f"the {name} exited:\n{_log_excerpt(workdir / f'{name}.log')}"
                        )
                if sampler.now() > args.timeout:
                    raise TimeoutError(f"not processed within {args.timeout:g} s")
                time.sleep(1)
        client.close()
        processed = sampler.now()
        time.sleep(args.settle_s)
        with httpx.Client(timeout=5) as http:
            changes = alert_changes(http, worker_url)
        end = sampler.now()
        sampler.stop()
    finally:
        for proc in procs.values():
            _stop(proc)
        for f in logs.values():
            f.close()
    return {
        "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "results": verdict(sampler.samples, idle_until, end, args.flat_pct),
        "alert_changes": {k: int(v) for k, v in sorted(changes.items())},
        "idle_until_s": idle_until,
        "feed_s": fed - idle_until,
        "processed_s": processed - idle_until,
        "samples": [asdict(s) for s in sampler.samples],
    }


def _plot(payload: dict[str, Any], results_dir: Path) -> Path | None:
    samples = payload["samples"]

    def draw(fig: Any) -> None:
        ax = fig.add_subplot(1, 1, 1)
        t = [s["t"] for s in samples]
        for name in ("worker", "view"):
            ax.plot(t, [s[f"{name}_mb"] for s in samples], label=f"{name} RSS")
        start = payload["idle_until_s"]
        ax.axvline(start, color="grey", linestyle=":", label="feed starts")
        ax.axvline(start + payload["feed_s"], color="grey", linestyle="--", label="feed ends")
        ax.axvline(
            start + payload["processed_s"], color="black", linestyle="--", label="all processed"
        )
        ax.set_xlabel("seconds")
        ax.set_ylabel("resident memory (MB)")
        ax.set_title(f"Soak: {payload['parameters']['events']:,} events")
        ax.legend(loc="upper left", fontsize=8)

    return render(NAME, draw, results_dir)


if __name__ == "__main__":
    sys.exit(main())
