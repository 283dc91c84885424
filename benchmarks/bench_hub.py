"""`make bench`: the hub's worker against its client and its peers, on one backlog, one run.

Set-up: a broker (--bootstrap / KAFKA_BOOTSTRAP_SERVERS, else a local jar broker in a
temporary folder), contract topics under a unique prefix (3 partitions), and a backlog of
--events hydrogen readings (default 200,000) from --sites sites, one reading a site a second,
with --leaks planted hydrogen leaks (three readings of 5,000 ppm on consecutive seconds at one
site), published with `onenet publish`'s pipeline.

Each of --runs rounds (at least 3 for medians) runs every contender once, in the same order,
so drift on a shared machine touches them alike:

    raw-loop        benchmarks/peers/raw_loop.py: group-less aiokafka getmany + orjson decode
    quix            benchmarks/peers/quix_app.py in .venv-quix (--quix-python), if installed
    faust           benchmarks/peers/faust_app.py: a minimal Faust agent with one table
    worker-h2       `onenet worker` with a pack holding only hydrogen-leak
    worker-city     `onenet worker` with the whole `city` pack

Throughput is N over the span from the first to the N-th record processed (the peers' own
clock; the worker's /metrics, polled every 0.2 s). Each contender that runs the rule must
emit a hydrogen-leak alert for every planted site and for no other: the table says how many
it found, and the run fails (exit 1) if one is missing. Ratios are taken round by round
against the raw loop and the Quix peer of the same round; the table shows their medians.

    .venv/bin/python -m benchmarks.bench_hub [--events 200000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from rich.console import Console

from benchmarks.bench_worker import (
    PARTITIONS,
    Context,
    end_offsets,
    event_partitions,
    obtain_broker,
    publish,
    topics_for,
    worker_run,
)
from benchmarks.common import (
    Summary,
    add_common_arguments,
    fmt,
    fmt_summary,
    make_console,
    make_progress,
    phase,
    plot_rates,
    positive,
    print_table,
    ratios,
    report_files,
    write_json,
    write_plot,
)
from hub.correlate.pack import DEFAULT_PACK
from hub.kafka import admin
from hub.kafka_security import client_options
from hub.topics import DOMAINS, Topics

NAME = "bench"
ROOT = Path(__file__).resolve().parent.parent
LEAK_PPM = 5000.0
NOISE_PPM = 12.0
CONTENDERS = ("raw-loop", "quix", "faust", "worker-h2", "worker-city")
LABELS = {
    "raw-loop": "raw aiokafka loop (baseline)",
    "quix": "Quix Streams peer, hydrogen-leak",
    "faust": "minimal Faust agent, hydrogen-leak",
    "worker-h2": "onenet worker, hydrogen-leak only",
    "worker-city": "onenet worker, whole city pack",
}


# --- the backlog -----------------------------------------------------------------------------


def backlog(events: int, sites: int, leaks: int) -> tuple[list[bytes], set[str]]:
    """Readings round-robin over `sites`, a second apart per round, ending about now; the
    planted sites read 5,000 ppm in three consecutive rounds, once."""
    rounds = -(-events // sites)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=rounds + 60)
    stride = max(1, sites // leaks)
    planted_at = {f"H2-{j * stride:06d}": 3 + (j % max(1, rounds - 6)) for j in range(leaks)}
    values: list[bytes] = []
    for i in range(events):
        r, s = divmod(i, sites)
        site = f"H2-{s:06d}"
        first = planted_at.get(site)
        leaking = first is not None and first <= r < first + 3
        doc = {
            "specversion": "1.0",
            "id": f"bench-{i}",
            "source": "urn:onenet:connector:bench",
            "type": "city.safety.hydrogen.reading",
            "time": (start + timedelta(seconds=r)).isoformat().replace("+00:00", "Z"),
            "district": "210202",
            "data": {
                "site_id": site,
                "sensor_id": f"{site}-a",
                "h2_ppm": LEAK_PPM if leaking else NOISE_PPM,
                "location": {"lat": 38.9 + s * 1e-5, "lon": 121.6},
            },
        }
        values.append(json.dumps(doc).encode())
    return values, set(planted_at)


# --- reading what a contender emitted --------------------------------------------------------


def read_from(
    bootstrap: str, topic: str, since: dict[TopicPartition, int], *, timeout: float = 30.0
) -> list[bytes]:
    """Every value of `topic` from `since` (per partition) to its current end."""
    parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    ends = end_offsets(bootstrap, parts)
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap.split(","), enable_auto_commit=False, **client_options()
    )
    out: list[bytes] = []
    try:
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, since.get(tp, 0))
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end in {timeout:g} s")
            for records in consumer.poll(timeout_ms=500).values():
                out += [r.value for r in records if r.value]
    finally:
        consumer.close()
    return out


def create_topic(bootstrap: str, name: str) -> None:
    client = admin(bootstrap)
    try:
        client.create_topics([NewTopic(name, PARTITIONS, 1)])
    finally:
        client.close()


def peer_alert_sites(values: Sequence[bytes]) -> set[str]:
    return {json.loads(v)["key"] for v in values}


def worker_alert_sites(values: Sequence[bytes]) -> set[str]:
    found = set()
    for v in values:
        doc = json.loads(v)
        if doc.get("type") == "city.alert.firing" and doc["data"].get("rule") == "hydrogen-leak":
            found.add(doc["data"]["key"])
    return found


# --- contenders ------------------------------------------------------------------------------


@dataclass
class Outcome:
    events_per_s: float
    alert_sites: set[str] | None = None  # None: the contender runs no rule
    extra: dict[str, Any] = field(default_factory=dict)


def _clock_rate(result: Path) -> float:
    got = json.loads(result.read_text())
    return float(got["count"]) / max(float(got["last"]) - float(got["first"]), 1e-9)


def _wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{' '.join(proc.args)} exited with {proc.returncode}:\n{tail}")  # type: ignore[arg-type]
        if time.monotonic() > deadline:
            raise TimeoutError(f"no result from {' '.join(proc.args)} in {timeout:g} s")  # type: ignore[arg-type]
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Bench:
    bootstrap: str
    topics: Topics
    workdir: Path
    expected: int
    planted: set[str]
    timeout: float
    quix_python: Path | None
    ctx: Context
    pack_h2: Path

    @property
    def event_topics(self) -> list[str]:
        return [self.topics.events(d) for d in DOMAINS]

    def peer(self, name: str, cmd: list[str], round_no: int) -> Outcome:
        tag = f"{self.topics.prefix}-{name}-{round_no}"
        result = self.workdir / f"{tag}.json"
        alerts = f"{tag}-alerts"
        state = self.workdir / f"{tag}-state"
        state.mkdir()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "BENCH_BOOTSTRAP": self.bootstrap,
            "BENCH_TOPICS": ",".join(self.event_topics),
            "BENCH_PARTITIONS": str(PARTITIONS),
            "BENCH_ALERTS": alerts,
            "BENCH_GROUP": tag,
            "BENCH_EXPECTED": str(self.expected),
            "BENCH_RESULT": str(result),
            "BENCH_STATE_DIR": str(state),
        }
        if name != "raw-loop":
            create_topic(self.bootstrap, alerts)  # the broker need not auto-create topics
        log = self.workdir / f"{tag}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, env=env, cwd=state, stdout=out, stderr=subprocess.STDOUT)
            try:
                _wait_for(result, proc, self.timeout, log)
                rate = _clock_rate(result)
                if name == "raw-loop":
                    return Outcome(rate)
                found = self._peer_alerts(alerts)
            finally:
                _stop(proc)
        return Outcome(rate, found)

    def _peer_alerts(self, topic: str, settle: float = 20.0) -> set[str]:
        """A peer's alerts: it may still be flushing its producer when its clock stops."""
        deadline = time.monotonic() + settle
        found: set[str] = set()
        while time.monotonic() < deadline:
            try:
                found = peer_alert_sites(read_from(self.bootstrap, topic, {}))
            except Exception:  # the peer has not created its alert topic yet
                found = set()
            if found >= self.planted:
                break
            time.sleep(0.5)
        return found

    def raw_loop(self, i: int) -> Outcome:
        cmd = [sys.executable, "-m", "benchmarks.peers.raw_loop"]
        args = [self.bootstrap, ",".join(self.event_topics), str(PARTITIONS), str(self.expected)]
        tag = f"{self.topics.prefix}-raw-loop-{i}"
        return self.peer("raw-loop", [*cmd, *args, str(self.workdir / f"{tag}.json")], i)

    def quix(self, i: int) -> Outcome | None:
        if self.quix_python is None:
            return None
        return self.peer("quix", [str(self.quix_python), "-m", "benchmarks.peers.quix_app"], i)

    def faust(self, i: int) -> Outcome:
        cmd = [sys.executable, "-m", "benchmarks.peers.faust_app", "worker", "-l", "warn"]
        return self.peer("faust", cmd, i)

    def worker(self, name: str, i: int, pack: Path | None) -> Outcome:
        parts = event_partitions(self.topics)
        ends = end_offsets(self.bootstrap, parts)
        alert_parts = [TopicPartition(self.topics.alerts, p) for p in range(PARTITIONS)]
        before = end_offsets(self.bootstrap, alert_parts)
        app_id = f"{self.topics.prefix}-{name}-{i}"
        self.ctx.groups.append(app_id)
        extra = {"ONENET_RULES_PATH": str(pack)} if pack else {}
        run = worker_run(
            self.bootstrap,
            self.topics,
            app_id,
            ends,
            self.workdir,
            timeout=self.timeout,
            extra_env=extra,
        )
        processing = max(run.processed_s - run.startup_s, 1e-9)
        found = worker_alert_sites(read_from(self.bootstrap, self.topics.alerts, before))
        details = {"startup_s": run.startup_s, "peak_rss_mb": run.peak_rss_mb}
        return Outcome(self.expected / processing, found, details)


def hydrogen_only_pack(workdir: Path) -> Path:
    doc = yaml.safe_load(DEFAULT_PACK.read_text())
    doc["name"] = "hydrogen-only"
    doc["rules"] = [r for r in doc["rules"] if r["name"] == "hydrogen-leak"]
    path = workdir / "hydrogen-only.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_hub",
        description="The worker against a raw aiokafka loop, a Quix Streams peer and a Faust "
        "peer on one backlog, interleaved rounds, planted alerts checked.",
    )
    parser.add_argument("--events", type=positive, default=200_000, help="readings [200000]")
    parser.add_argument("--sites", type=positive, default=2_000, help="distinct sites [2000]")
    parser.add_argument("--leaks", type=positive, default=16, help="planted leaks [16]")
    add_common_arguments(parser, runs=3)
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ""),
        help="Kafka bootstrap servers [KAFKA_BOOTSTRAP_SERVERS; empty starts a local jar broker]",
    )
    parser.add_argument(
        "--quix-python",
        type=Path,
        default=ROOT / ".venv-quix" / "bin" / "python",
        help="python of the Quix Streams virtualenv [.venv-quix/bin/python; skipped if absent]",
    )
    parser.add_argument(
        "--only",
        default=",".join(CONTENDERS),
        help=f"comma-separated contenders [{','.join(CONTENDERS)}]",
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="limit of one contender's run in s [600]"
    )
    args = parser.parse_args(argv)
    args.only = [c.strip() for c in args.only.split(",") if c.strip()]
    if not args.only or set(args.only) - set(CONTENDERS):
        parser.error(f"--only takes {', '.join(CONTENDERS)}; got {args.only}")
    if args.leaks > args.sites:
        parser.error("--leaks must not exceed --sites")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = make_console()
    sites = min(args.sites, max(1, args.events // 20))  # at least 20 rounds of readings
    values, planted = backlog(args.events, sites, min(args.leaks, sites))
    quix = args.quix_python if args.quix_python.exists() else None
    if quix is None and "quix" in args.only:
        console.print(
            f"[yellow]Quix Streams peer skipped: {args.quix_python} not found[/] (see "
            "benchmarks/README.md for its virtualenv)"
        )
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    figures: dict[str, list[Outcome]] = {c: [] for c in args.only}
    details: dict[str, Any] = {}
    with (
        obtain_broker(args.bootstrap or None, console) as (bootstrap, _started_here),
        tempfile.TemporaryDirectory(prefix="onenet-bench-hub-") as tmp,
        make_progress(console) as progress,
    ):
        workdir = Path(tmp)
        ctx = Context(bootstrap, prefix, workdir, progress, args, [])
        topics = topics_for(ctx, prefix)
        with phase(progress, f"publishing {len(values):,} readings", len(values)) as step:
            details["publish_s"] = publish(bootstrap, topics, values, step)
        bench = Bench(
            bootstrap,
            topics,
            workdir,
            len(values),
            planted,
            args.timeout,
            quix,
            ctx,
            hydrogen_only_pack(workdir),
        )
        runs: dict[str, Callable[[int], Outcome | None]] = {
            "raw-loop": bench.raw_loop,
            "quix": bench.quix,
            "faust": bench.faust,
            "worker-h2": lambda i: bench.worker("worker-h2", i, bench.pack_h2),
            "worker-city": lambda i: bench.worker("worker-city", i, None),
        }
        total = args.runs * len(args.only)
        with phase(progress, "interleaved rounds", total) as step:
            for i in range(args.runs):
                for name in args.only:
                    progress.console.log(f"round {i + 1}/{args.runs}: {name}")
                    outcome = runs[name](i)
                    if outcome is not None:
                        figures[name].append(outcome)
                    step()
    figures = {k: v for k, v in figures.items() if v}
    ok, payload = report(console, figures, planted, args, len(values))
    payload["parameters"]["sites"] = sites
    payload["publish_s"] = details["publish_s"]
    plot = None if args.no_plot else _plot(payload["results"], args.results_dir)
    payload["plot"] = str(plot) if plot else None
    path = write_json(NAME, payload, args.results_dir)
    report_files(console, path, plot, wanted=not args.no_plot)
    if not ok:
        console.print("[red]error:[/] a contender missed a planted alert (see the table)")
        return 1
    return 0


def report(
    console: Console,
    figures: dict[str, list[Outcome]],
    planted: set[str],
    args: argparse.Namespace,
    events: int,
) -> tuple[bool, dict[str, Any]]:
    base = [o.events_per_s for o in figures.get("raw-loop", [])]
    quix = [o.events_per_s for o in figures.get("quix", [])]
    rows: list[list[str]] = []
    results: list[dict[str, Any]] = []
    ok = True
    for name, outcomes in figures.items():
        eps = [o.events_per_s for o in outcomes]
        vs_base = Summary.of(ratios(eps, base)) if len(base) == len(eps) else None
        vs_quix = Summary.of(ratios(eps, quix)) if len(quix) == len(eps) else None
        found = [o.alert_sites for o in outcomes]
        if found[0] is None:
            alerts = "-"
        else:
            hit = [len(f & planted) for f in found if f is not None]
            extra = [len(f - planted) for f in found if f is not None]
            ok = ok and all(h == len(planted) for h in hit)
            alerts = f"{min(hit)}/{len(planted)}"
            if any(extra):
                alerts += f" (+{max(extra)} other)"
        rss = [o.extra["peak_rss_mb"] for o in outcomes if o.extra.get("peak_rss_mb")]
        rows.append(
            [
                LABELS[name],
                fmt_summary(Summary.of(eps)),
                fmt(vs_base.median, 3) if vs_base else "-",
                fmt(vs_quix.median, 2) if vs_quix else "-",
                alerts,
                fmt(Summary.of(rss).median) if rss else "-",
            ]
        )
        results.append(
            {
                "contender": name,
                "label": LABELS[name],
                "events_per_s": Summary.of(eps).to_json(),
                "ratio_to_raw_loop": vs_base.to_json() if vs_base else None,
                "ratio_to_quix": vs_quix.to_json() if vs_quix else None,
                "planted_alerts_found": [
                    sorted(f & planted) if f is not None else None for f in found
                ],
                "other_alerts": [sorted(f - planted) if f is not None else None for f in found],
                "runs": [o.extra for o in outcomes],
                "peak_rss_mb": Summary.of(rss).to_json() if rss else None,
            }
        )
    print_table(
        console,
        f"One backlog of {events:,} hydrogen readings, {args.runs} interleaved rounds, medians",
        [
            "contender",
            "events/s median (min–max)",
            "× raw loop",
            "× Quix",
            "planted alerts",
            "peak RSS MB",
        ],
        rows,
        caption="Ratios are medians of per-round ratios. Worker throughput is first to last "
        "event consumed (its /metrics); the peers' from their own first/N-th record clock.",
    )
    payload = {
        "parameters": {
            "events": events,
            "runs": args.runs,
            "leaks": len(planted),
            "partitions": PARTITIONS,
            "contenders": list(figures),
        },
        "planted_sites": sorted(planted),
        "results": results,
        "all_planted_alerts_found": ok,
    }
    return ok, payload


def _plot(results: list[dict[str, Any]], results_dir: Path) -> Path | None:
    def draw(fig: Any) -> None:
        ax = fig.subplots()
        plot_rates(
            ax,
            [r["label"] for r in results],
            [Summary.of(r["events_per_s"]["runs"]) for r in results],
            title="One backlog, interleaved rounds (log scale)",
            log=True,
        )

    return write_plot(NAME, draw, results_dir)


if __name__ == "__main__":
    sys.exit(main())
