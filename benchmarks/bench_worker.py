"""Throughput on a real Kafka: the correlation worker against a raw consume loop, and the
connector runner against a raw producer loop.

Set-up: a broker (KAFKA_BOOTSTRAP_SERVERS / --bootstrap, else a local jar broker in a temporary
state folder, stopped at the end), contract topics under a unique prefix (3 partitions), and N
simulator events published with the hub's producer, keyed like `onenet publish` does.

worker section, R runs, each pairing:
    baseline   a group-less aiokafka consumer (assign + seek_to_beginning + getmany) counting
               the N records of the three event topics
    worker     `onenet worker` as a subprocess with a fresh app id (so it re-processes all),
               timed from its start until the group's committed offsets reach the end offsets
               of the three event topics (polled with kafka-python's admin client). Reported
               raw, and with the start-up (process start to its first event consumed, from
               its /metrics) left out.

runner section, R runs, each pairing:
    baseline   the hub's kafka-python producer sending the runner's exact bytes, keys and
               headers in a loop, then flush
    runner     connectors.sdk.Runner with a connector that hands it the N drafts through
               `sink.submit`, timed until `run` returns (everything acknowledged)

    .venv/bin/python -m benchmarks.bench_worker [--events 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition as AioTopicPartition
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

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
    rates,
    ratios,
    report_files,
    write_json,
    write_plot,
)
from connectors.sdk.base import Connector, NoOptions
from connectors.sdk.envelope import to_bytes
from connectors.sdk.item import Draft, Item
from connectors.sdk.runner import Runner
from connectors.sdk.sink import Sink
from connectors.simulator import SCENARIOS, generate
from connectors.simulator.simulation import DEFAULT_RATE, DEFAULT_SOURCE
from hub.broker import LocalBroker
from hub.events import CONTENT_TYPE, parse_structured
from hub.events.gate import CONNECTOR_HEADER
from hub.kafka import admin, contract_topics, ensure_topics
from hub.kafka import producer as hub_producer
from hub.kafka_security import client_options
from hub.publish import publish_lines
from hub.settings import Settings
from hub.topics import DOMAINS, Topics

NAME = "worker"
PARTITIONS = 3
POLL_S = 0.2  # offsets and /metrics while the worker works
STARTUP_POLL_S = 0.05  # until its first event: start-up is what this resolves
SECTIONS = ("worker", "runner")
BASELINE_READS = 5  # reads of the consume baseline per run (its median is the run's figure)
ONENET = shutil.which("onenet", path=str(Path(sys.executable).parent))


# --- broker and topics -----------------------------------------------------------------------


@contextlib.contextmanager
def obtain_broker(bootstrap: str | None, console: Console) -> Iterator[tuple[str, bool]]:
    """(bootstrap, started here): the given cluster, else a local jar broker for this run."""
    if bootstrap:
        yield bootstrap, False
        return
    with tempfile.TemporaryDirectory(prefix="onenet-bench-broker-") as state:
        broker = LocalBroker(state_dir=state, port=0)
        # The dev broker runs C1 only to start faster; a benchmark wants the full JIT.
        previous = os.environ.get("KAFKA_OPTS")
        os.environ["KAFKA_OPTS"] = previous or "-XX:TieredStopAtLevel=4"
        try:
            with console.status("starting a local Kafka broker from the jars"):
                address = broker.start(timeout=180)
        finally:
            if previous is None:
                os.environ.pop("KAFKA_OPTS", None)
        try:
            yield address, True
        finally:
            broker.stop()


def event_partitions(topics: Topics) -> list[TopicPartition]:
    return [TopicPartition(topics.events(d), p) for d in DOMAINS for p in range(PARTITIONS)]


def end_offsets(bootstrap: str, parts: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), **client_options())
    try:
        return dict(consumer.end_offsets(list(parts)))
    finally:
        consumer.close()


def cleanup(bootstrap: str, prefix: str, groups: Sequence[str]) -> None:
    """Delete this run's topics and groups from a cluster we did not start (best effort)."""
    client = admin(bootstrap)
    try:
        ours = [t for t in client.list_topics() if t.startswith(prefix)]
        if ours:
            client.delete_topics(ours, raise_errors=False)
        if groups:
            with contextlib.suppress(KafkaError):
                client.delete_groups(list(groups))
    finally:
        client.close()


# --- events ----------------------------------------------------------------------------------


def make_drafts(count: int, *, seed: int, time_scale: float) -> list[Draft]:
    """Background + every scenario, timed so the last event is about now (a recent backlog)."""
    span = timedelta(seconds=count * time_scale / DEFAULT_RATE)
    start = datetime.now(UTC).replace(microsecond=0) - span
    return list(
        generate(
            seed, count=count, scenarios=list(SCENARIOS), start_time=start, time_scale=time_scale
        )
    )


def publish(bootstrap: str, topics: Topics, values: Sequence[bytes], step: Any) -> float:
    """`onenet publish`'s pipeline over the values; returns seconds until all acknowledged."""
    producer = hub_producer(bootstrap)
    try:
        started = time.perf_counter()
        report = publish_lines(
            producer,
            topics,
            list(enumerate(values, start=1)),
            origin="bench",
            max_bytes=65536,
            on_progress=step,
        )
        elapsed = time.perf_counter() - started
    finally:
        producer.close()
    if not report.ok or sum(report.published.values()) != len(values):
        raise RuntimeError(
            f"publishing failed: {len(report.rejected)} rejected, errors {report.send_errors[:3]}"
        )
    return elapsed


# --- worker section --------------------------------------------------------------------------


async def _consume(bootstrap: str, parts: Sequence[TopicPartition], expected: int) -> float:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **client_options()
    )
    await consumer.start()
    try:
        assigned = [AioTopicPartition(p.topic, p.partition) for p in parts]
        started = time.perf_counter()
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        count = 0
        while count < expected:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                count += len(records)
            if time.perf_counter() - started > 300:
                raise TimeoutError(f"read {count} of {expected} records in 300 s")
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def consume_baseline(bootstrap: str, parts: Sequence[TopicPartition], expected: int) -> float:
    """Seconds a raw aiokafka loop takes to read every record (after its `start`): the median
    of a few reads, as one read is a fraction of a second and mostly fetch round trips."""
    return statistics.median(
        asyncio.run(_consume(bootstrap, parts, expected)) for _ in range(BASELINE_READS)
    )


@dataclass
class WorkerRun:
    startup_s: float  # process start -> first event consumed (its /metrics)
    processed_s: float  # process start -> all N events consumed (its /metrics)
    committed_s: float  # process start -> committed offsets at the end offsets
    drained_s: float | None  # ... and the re-keyed copies committed too
    alert_records: int
    deadletters: int
    peak_rss_mb: float | None = None  # the worker process's high-water RSS (VmHWM)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _consumed(client: httpx.Client, url: str, topics: set[str]) -> int | None:
    try:
        text = client.get(url).text
    except httpx.HTTPError:
        return None  # not serving yet
    total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name == "onenet_events_consumed":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels.get("topic") in topics:
                    total += sample.value
    return int(total)


def _committed(
    client: Any, group: str, parts: Sequence[TopicPartition]
) -> dict[TopicPartition, int]:
    try:
        found = client.list_group_offsets({group: list(parts)}).get(group, {})
    except KafkaError:  # no such group until the worker joins
        return {}
    return {tp: (om.offset if om is not None else -1) for tp, om in found.items()}


def _reached(committed: dict[TopicPartition, int], ends: dict[TopicPartition, int]) -> bool:
    return all(committed.get(tp, -1) >= end for tp, end in ends.items() if end > 0)


def worker_run(
    bootstrap: str,
    topics: Topics,
    app_id: str,
    ends: dict[TopicPartition, int],
    workdir: Path,
    *,
    timeout: float,
    drain_timeout: float = 20.0,
    extra_env: dict[str, str] | None = None,
) -> WorkerRun:
    """Start `onenet worker` with a fresh app id and time it through the backlog."""
    expected = sum(ends.values())
    port = _free_port()
    state = workdir / f"{app_id}-state"  # its own, existing: Faust makes only the last level
    state.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ONENET_TOPIC_PREFIX": topics.prefix,
        "ONENET_APP_ID": app_id,
        "ONENET_PARTITIONS": str(PARTITIONS),
        "ONENET_STATE_DIR": str(state),
        **(extra_env or {}),
    }
    cmd = [ONENET] if ONENET else [sys.executable, "-c", "from hub.cli import main; main()"]
    rekey = [TopicPartition(f"{app_id}-rekey", p) for p in range(PARTITIONS)]
    side = [TopicPartition(topics.alerts, p) for p in range(PARTITIONS)]
    side += [TopicPartition(topics.deadletter, p) for p in range(PARTITIONS)]
    before = end_offsets(bootstrap, side)
    log_path = workdir / f"{app_id}.log"
    client = admin(bootstrap)
    http = httpx.Client(timeout=1.0)
    url = f"http://127.0.0.1:{port}/metrics"
    names = {tp.topic for tp in ends}
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*cmd, "worker", "--metrics-port", str(port)],
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            startup = processed = committed = drained = None
            rekey_target: dict[TopicPartition, int] = {}
            while drained is None:
                now = time.perf_counter() - started
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"the worker exited with {proc.returncode}:\n{_log_excerpt(log_path)}"
                    )
                if now > timeout:
                    raise TimeoutError(
                        f"the worker did not finish {expected} events in {timeout:g} s"
                    )
                if processed is None:
                    consumed = _consumed(http, url, names)
                    if startup is None and consumed:
                        startup = now
                    if consumed is not None and consumed >= expected:
                        processed = now
                if committed is None:
                    if _reached(_committed(client, app_id, list(ends)), ends):
                        committed = now
                        rekey_target = end_offsets(bootstrap, rekey)
                elif _reached(_committed(client, app_id, rekey), rekey_target):
                    drained = now
                elif now - committed > drain_timeout:
                    break  # report the re-keying hop as not drained rather than wait forever
                time.sleep(POLL_S if startup is not None else STARTUP_POLL_S)
        finally:
            http.close()
            client.close()
            peak_rss = _peak_rss_mb(proc.pid)
            _stop(proc)
    after = end_offsets(bootstrap, side)
    delta = {tp: after[tp] - before[tp] for tp in side}
    assert startup is not None
    assert committed is not None
    return WorkerRun(
        startup_s=startup,
        processed_s=processed if processed is not None else committed,
        committed_s=committed,
        drained_s=drained,
        alert_records=sum(v for tp, v in delta.items() if tp.topic == topics.alerts),
        deadletters=sum(v for tp, v in delta.items() if tp.topic == topics.deadletter),
        peak_rss_mb=peak_rss,
    )


def _peak_rss_mb(pid: int) -> float | None:
    """A running process's peak resident set size in MB, from /proc (None elsewhere)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def _log_excerpt(path: Path, limit: int = 4000) -> str:
    """The first traceback or error of a worker's log, else its tail."""
    text = path.read_text(errors="replace")
    for marker in ("Traceback (most recent call last)", "[ERROR]", "Error:"):
        at = text.find(marker)
        if at >= 0:
            return text[max(0, at - 200) : at + limit]
    return text[-limit:]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- runner section --------------------------------------------------------------------------


class DraftFeed(Connector[NoOptions]):
    """Hands prepared drafts to the sink as fast as it takes them (`submit`)."""

    name = "bench-feed"
    summary = "prepared simulator drafts, for the benchmark"

    def __init__(self, drafts: Sequence[Draft]) -> None:
        super().__init__(NoOptions())
        self.drafts = drafts

    async def run(self, sink: Sink) -> None:
        for draft in self.drafts:
            if sink.stopping.is_set():
                return
            await sink.submit(Item(draft))


def _warm_producer(bootstrap: str, topics: Topics) -> Any:
    """The hub's producer with metadata for the event topics already fetched."""
    producer = hub_producer(bootstrap)
    for d in DOMAINS:
        producer.partitions_for(topics.events(d))
    return producer


def producer_baseline(
    bootstrap: str, topics: Topics, records: Sequence[tuple[str, bytes, bytes]]
) -> float:
    """Seconds for a plain send loop + flush of the runner's exact records."""
    producer = _warm_producer(bootstrap, topics)
    headers = [CONTENT_TYPE, (CONNECTOR_HEADER, DraftFeed.name.encode())]
    try:
        started = time.perf_counter()
        futures = [producer.send(t, v, key=k, headers=headers) for t, k, v in records]
        producer.flush()
        elapsed = time.perf_counter() - started
    finally:
        producer.close()
    failed = sum(1 for f in futures if f.failed())
    if failed:
        raise RuntimeError(f"the baseline producer failed {failed} sends")
    return elapsed


def runner_once(bootstrap: str, topics: Topics, drafts: Sequence[Draft], checkpoint: Path) -> float:
    """Seconds for `Runner.run` over the drafts, until every record was acknowledged."""
    producer = _warm_producer(bootstrap, topics)
    runner = Runner(
        DraftFeed(drafts),
        producer=producer,
        topics=topics,
        checkpoint_path=checkpoint,
        source=DEFAULT_SOURCE,
    )

    async def go() -> tuple[float, dict[str, int]]:
        started = time.perf_counter()
        counts = await runner.run(install_signals=False)
        return time.perf_counter() - started, counts

    try:
        elapsed, counts = asyncio.run(go())
    finally:
        producer.close()
    if counts["published"] != len(drafts):
        raise RuntimeError(f"the runner published {counts} of {len(drafts)} drafts")
    return elapsed


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_worker",
        description="Events/s of `onenet worker` against a raw aiokafka consume loop, and of the "
        "connector Runner against a raw kafka-python producer loop, on a real Kafka.",
    )
    parser.add_argument("--events", type=positive, default=20_000, help="events [20000]")
    add_common_arguments(parser, runs=3)
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ""),
        help="Kafka bootstrap servers [KAFKA_BOOTSTRAP_SERVERS; empty starts a local jar broker]",
    )
    parser.add_argument(
        "--time-scale", type=float, default=60.0, help="simulated seconds per wall second [60]"
    )
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run [{','.join(SECTIONS)}]",
    )
    parser.add_argument(
        "--worker-timeout", type=float, default=300.0, help="limit of one worker run in s [300]"
    )
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown or not args.sections:
        parser.error(f"--sections takes {', '.join(SECTIONS)}; got {args.sections}")
    return args


def _row(
    section: str,
    case: str,
    label: str,
    n: int,
    seconds: Sequence[float],
    base: Sequence[float],
) -> dict[str, Any]:
    eps = rates(n, seconds)
    return {
        "section": section,
        "case": case,
        "label": label,
        "events": n,
        "seconds": Summary.of(seconds).to_json(),
        "events_per_s": Summary.of(eps).to_json(),
        "ratio": Summary.of(ratios(eps, rates(n, base))).to_json(),
    }


@dataclass
class Context:
    bootstrap: str
    prefix: str
    workdir: Path
    progress: Any
    args: argparse.Namespace
    groups: list[str]


def topics_for(ctx: Context, prefix: str) -> Topics:
    """Contract topics under `prefix`, created with 3 partitions."""
    settings = Settings(topic_prefix=prefix, partitions=PARTITIONS, app_id=f"{prefix}-setup")
    ensure_topics(ctx.bootstrap, contract_topics(settings))
    return Topics(prefix)


def worker_section(
    ctx: Context, values: Sequence[bytes], details: dict[str, Any]
) -> list[dict[str, Any]]:
    n, runs_wanted = len(values), ctx.args.runs
    topics = topics_for(ctx, ctx.prefix)
    with phase(ctx.progress, f"publishing {n:,} events", n) as step:
        details["publish_s"] = publish(ctx.bootstrap, topics, values, step)
    parts = event_partitions(topics)
    ends = end_offsets(ctx.bootstrap, parts)
    if sum(ends.values()) != n:
        raise RuntimeError(f"the event topics hold {sum(ends.values())} records, not {n}")
    base: list[float] = []
    runs: list[WorkerRun] = []
    with phase(ctx.progress, "consume baseline and worker runs", 2 * runs_wanted) as step:
        for i in range(runs_wanted):
            base.append(consume_baseline(ctx.bootstrap, parts, n))
            step()
            app_id = f"{ctx.prefix}-w{i}"
            ctx.groups.append(app_id)
            timeout = ctx.args.worker_timeout
            runs.append(
                worker_run(ctx.bootstrap, topics, app_id, ends, ctx.workdir, timeout=timeout)
            )
            step()
    details["worker_runs"] = [asdict(r) for r in runs]
    details["startup_s"] = Summary.of([r.startup_s for r in runs]).to_json()
    return [
        _row("worker", "consume-baseline", "baseline: aiokafka consume loop", n, base, base),
        _row(
            "worker",
            "worker-raw",
            "onenet worker, raw (process start → committed)",
            n,
            [r.committed_s for r in runs],
            base,
        ),
        _row(
            "worker",
            "worker-excl-startup",
            "onenet worker, start-up excluded (first event → committed)",
            n,
            [r.committed_s - r.startup_s for r in runs],
            base,
        ),
        _row(
            "worker",
            "worker-processing",
            "onenet worker, processing (first → last event consumed)",
            n,
            [r.processed_s - r.startup_s for r in runs],
            base,
        ),
    ]


def runner_section(
    ctx: Context, drafts: Sequence[Draft], values: Sequence[bytes]
) -> list[dict[str, Any]]:
    n = len(values)
    topics = topics_for(ctx, f"{ctx.prefix}-conn")
    records = []
    for value in values:  # what the runner sends: the same bytes, key and topic
        event = parse_structured(value)
        records.append((topics.events(event.domain), event.key.encode(), value))
    base: list[float] = []
    timed_runs: list[float] = []
    with phase(ctx.progress, "producer baseline and runner runs", 2 * ctx.args.runs) as step:
        for i in range(ctx.args.runs):
            base.append(producer_baseline(ctx.bootstrap, topics, records))
            step()
            checkpoint = ctx.workdir / f"checkpoint-{i}.json"
            timed_runs.append(runner_once(ctx.bootstrap, topics, drafts, checkpoint))
            step()
    return [
        _row("runner", "producer-baseline", "baseline: kafka-python producer loop", n, base, base),
        _row("runner", "runner", "connector Runner, sink.submit", n, timed_runs, base),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = make_console()
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    results: list[dict[str, Any]] = []
    details: dict[str, Any] = {}
    drafts = make_drafts(args.events, seed=args.seed, time_scale=args.time_scale)
    values = [to_bytes(d, default_source=DEFAULT_SOURCE) for d in drafts]
    with (
        obtain_broker(args.bootstrap or None, console) as (bootstrap, started_here),
        tempfile.TemporaryDirectory(prefix="onenet-bench-") as tmp,
    ):
        groups: list[str] = []
        try:
            with make_progress(console) as progress:
                ctx = Context(bootstrap, prefix, Path(tmp), progress, args, groups)
                if "worker" in args.sections:
                    results += worker_section(ctx, values, details)
                if "runner" in args.sections:
                    results += runner_section(ctx, drafts, values)
        finally:
            if not started_here:
                cleanup(bootstrap, prefix, groups)

    report(console, results, details, args.runs)
    payload: dict[str, Any] = {
        "parameters": {
            "events": len(values),
            "runs": args.runs,
            "seed": args.seed,
            "time_scale": args.time_scale,
            "partitions": PARTITIONS,
            "sections": args.sections,
            "broker": "given" if args.bootstrap else "local jar broker started by the benchmark",
            "poll_s": POLL_S,
            "baseline_reads_per_run": BASELINE_READS,
        },
        "results": results,
        **details,
    }
    plot = None if args.no_plot else _plot(results, args.results_dir)
    payload["plot"] = str(plot) if plot else None
    path = write_json(NAME, payload, args.results_dir)
    report_files(console, path, plot, wanted=not args.no_plot)
    return 0


def _worker_caption(details: dict[str, Any]) -> str:
    runs = details["worker_runs"]
    startup = fmt_summary(Summary.of([r["startup_s"] for r in runs]), 2, " s")
    drained = [r["drained_s"] - r["committed_s"] for r in runs if r["drained_s"] is not None]
    hop = fmt_summary(Summary.of(drained), 2, " s") if drained else "not within 20 s"
    return (
        f"Start-up (process start → first event consumed): {startup}. "
        f"Re-keyed copies committed {hop} after the event topics. "
        f"Per run: alert records {[r['alert_records'] for r in runs]}, "
        f"dead letters {[r['deadletters'] for r in runs]}. "
        f"Published with `onenet publish`'s pipeline in {details['publish_s']:.1f} s."
    )


def report(
    console: Console, results: list[dict[str, Any]], details: dict[str, Any], runs: int
) -> None:
    titles = {"worker": "Worker vs raw consume loop", "runner": "Runner vs raw producer loop"}
    for section, title in titles.items():
        rows = []
        for r in (r for r in results if r["section"] == section):
            ratio = Summary.of(r["ratio"]["runs"])
            rows.append(
                [
                    r["label"],
                    fmt_summary(Summary.of(r["events_per_s"]["runs"])),
                    fmt_summary(Summary.of(r["seconds"]["runs"]), 2, " s"),
                    fmt_summary(ratio, 3),
                ]
            )
        if rows:
            print_table(
                console,
                f"{title}: {fmt(results[0]['events'])} events, {runs} runs",
                ["measure", "events/s median (min–max)", "seconds", "× baseline"],
                rows,
                caption=_worker_caption(details) if section == "worker" else None,
            )


def _plot(results: list[dict[str, Any]], results_dir: Path) -> Path | None:
    sections = [s for s in SECTIONS if any(r["section"] == s for r in results)]

    def draw(fig: Any) -> None:
        axes = fig.subplots(len(sections), 1, squeeze=False)[:, 0]
        for ax, section in zip(axes, sections, strict=True):
            rows = [r for r in results if r["section"] == section]
            plot_rates(
                ax,
                [r["label"].replace(", ", ",\n", 1) for r in rows],
                [Summary.of(r["events_per_s"]["runs"]) for r in rows],
                title="Worker vs raw consume loop (log scale)"
                if section == "worker"
                else "Runner vs raw producer loop",
                log=section == "worker",
            )

    return write_plot(NAME, draw, results_dir)


if __name__ == "__main__":
    sys.exit(main())
