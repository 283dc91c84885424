"""Chaos run: two workers correlate a simulated city while workers and brokers are killed.

On a three-node `LocalCluster` (replication 3, min.insync.replicas 2), each run publishes
`--events` simulator events (noise plus 20 planted scenarios of several `city` rules) in
chunks with `onenet publish`, and while the chunks go in it kills a worker with `kill -9`
three times (restarting it), stops one with SIGSTOP for longer than the session timeout,
and kills the broker leading an input partition. It then waits until the group consumed
everything and checks the alert topic against the simulator's ground truth: every planted
alert exactly once, none spurious. A run passes only then; the table says how long each took.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from benchmarks.common import (
    add_common_arguments,
    make_console,
    make_progress,
    phase,
    positive,
    print_table,
    write_json,
)
from connectors.simulator import Simulation, write_jsonl
from connectors.simulator.simulation import generate
from hub.broker import LocalCluster

NAME = "chaos"
ONENET = shutil.which("onenet", path=str(Path(sys.executable).parent)) or "onenet"
# Rules whose scenarios fire from events alone within a run's span (absence rules included).
PLANTED = ("leak", "hazard-near-crowd", "overdue-inspection", "service-hotspot", "incident-burst")
SCENARIO_COUNT = 20
SESSION_TIMEOUT_S = 8.0
RATE = 20.0
# Every run spans at least this much event time, so absence rules (an inspection overdue by
# 24 h) fire before the events end, whatever --events is.
MIN_SPAN_S = 5 * 86400.0
DOMAINS = ("safety", "security", "service")
# The faults, in order, each while one chunk of events is being published.
FAULTS = ("kill-worker", "kill-worker", "sigstop-worker", "kill-leader", "kill-worker")


@dataclass
class RunResult:
    run: int
    events: int
    seconds: float = 0.0
    expected: int = 0
    fired: int = 0
    missing: list[str] = field(default_factory=list)
    spurious: list[str] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    # rule -> {"planted": n, "fired": m}: known whenever the alert topic could be read
    per_rule: dict[str, dict[str, int]] = field(default_factory=dict)
    error: str = ""

    @property
    def passed(self) -> bool:
        return not (self.error or self.missing or self.spurious or self.repeated)

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "passed": self.passed}


class Workers:
    """Two `onenet worker`s of one group, restartable with their own data folders."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        log = (self.workdir / f"{name}.log").open("ab")
        env = {**self.env, "ONENET_WORKER_DATA_DIR": str(self.workdir / f"{name}-data")}
        self.procs[name] = subprocess.Popen(
            [ONENET, "worker", "--metrics-port", "0"],
            env=env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def signal(self, name: str, sig: signal.Signals) -> None:
        self.procs[name].send_signal(sig)
        if sig == signal.SIGKILL:
            self.procs[name].wait(timeout=30)

    def dead(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is not None]

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def time_scale(events: int) -> float:
    """Simulated seconds per wall second of the simulator's clock for a run of `events`."""
    return max(60.0, MIN_SPAN_S * RATE / events)


def scenario_entries(events: int) -> list[str]:
    """20 planted scenarios of several rules, spread over the first half of the run."""
    wall = events / RATE
    first, last = 2.0, max(3.0, 0.5 * wall)
    step = (last - first) / (SCENARIO_COUNT - 1)
    return [f"{PLANTED[i % len(PLANTED)]}@{first + i * step:.1f}" for i in range(SCENARIO_COUNT)]


def make_events(path: Path, events: int, seed: int) -> Simulation:
    """The run's events in a JSONL file, ending about now; its ground truth."""
    scenarios, scale = scenario_entries(events), time_scale(events)
    start = datetime.now(UTC) - timedelta(seconds=events * scale / RATE)
    sim = Simulation(seed, scenarios=scenarios, start_time=start, time_scale=scale, rate=RATE)
    drafts = generate(
        seed, count=events, scenarios=scenarios, start_time=start, time_scale=scale, rate=RATE
    )
    write_jsonl(path, drafts)
    return sim


def chunks(path: Path, parts: int) -> list[Path]:
    lines = path.read_bytes().splitlines(keepends=True)
    size = -(-len(lines) // parts)
    out = []
    for n in range(parts):
        part = path.with_name(f"{path.stem}-{n}.jsonl")
        part.write_bytes(b"".join(lines[n * size : (n + 1) * size]))
        out.append(part)
    return out


def hub_env(bootstrap: str, prefix: str, state: Path) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ONENET_TOPIC_PREFIX": prefix,
        "ONENET_APP_ID": f"{prefix}-hub",
        "ONENET_STATE_DIR": str(state),
        "ONENET_PARTITIONS": "3",
        "ONENET_REPLICATION_FACTOR": "3",
        "ONENET_WORKER_SESSION_TIMEOUT_S": str(SESSION_TIMEOUT_S),
        "NO_COLOR": "1",
    }


def run_cli(env: dict[str, str], *args: str, timeout: float = 600) -> None:
    done = subprocess.run(
        [ONENET, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"onenet {' '.join(args)} failed: {done.stderr[-1500:]}")


def apply_fault(fault: str, n: int, workers: Workers, cluster: LocalCluster, topic: str) -> str:
    """One fault; returns what was done, for the report."""
    name = ("w1", "w2")[n % 2]
    if fault == "kill-worker":
        workers.signal(name, signal.SIGKILL)
        workers.start(name)
        return f"kill -9 {name}"
    if fault == "sigstop-worker":
        workers.signal(name, signal.SIGSTOP)
        time.sleep(SESSION_TIMEOUT_S + 4)  # the point: past the session timeout
        workers.signal(name, signal.SIGCONT)
        return f"SIGSTOP {name} {SESSION_TIMEOUT_S + 4:.0f} s"
    leader = cluster.leader(topic, n % 3)
    cluster.kill(leader)
    cluster.wait_leader(topic, n % 3, not_on=leader)
    cluster.restart(leader)
    return f"kill -9 broker {leader} (leader of {topic}/{n % 3})"


def wait_consumed(bootstrap: str, group: str, topics: list[str], timeout: float) -> None:
    """Until the group committed every offset of `topics` (the workers saw everything)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","))
    try:
        parts = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        deadline, lag = time.monotonic() + timeout, -1
        while time.monotonic() < deadline:
            with suppress(KafkaError):  # a node restarting, or the group not formed yet
                lag = group_lag(admin, consumer, group, parts)
                if lag == 0:
                    return
            time.sleep(1)
        raise TimeoutError(f"group {group} still lags {lag} records after {timeout:.0f} s")
    finally:
        consumer.close()
        admin.close()


def group_lag(admin: Any, consumer: Any, group: str, parts: list[TopicPartition]) -> int:
    ends: dict[TopicPartition, int] = consumer.end_offsets(parts)
    committed = admin.list_group_offsets(group).get(group, {})
    done = {p: (committed[p].offset if p in committed else 0) for p in parts}
    return sum(max(0, ends[p] - done[p]) for p in parts)


def read_alerts(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), consumer_timeout_ms=1000)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        records: list[dict[str, Any]] = []
        while any(consumer.position(p) < ends[p] for p in parts):
            records += [orjson.loads(r.value) for r in consumer]
        return records
    finally:
        consumer.close()


def judge(result: RunResult, sim: Simulation, alerts: list[dict[str, Any]]) -> None:
    """Planted alerts by rule, exactly once each: one alert id per episode, and each of its
    changes published once (a repeat after a crash must be the very same record)."""
    firing = [a for a in alerts if a["type"] == "city.alert.firing"]
    changes: dict[str, set[str]] = {}
    for a in firing:
        changes.setdefault(a["data"]["alert_id"], set()).add(a["id"])
    result.repeated = sorted(aid for aid, ids in changes.items() if len(ids) > 1)
    by_rule = Counter(
        a["data"]["rule"] for a in {a["data"]["alert_id"]: a for a in firing}.values()
    )
    expected = Counter(t.rule for t in sim.truths)
    result.expected = sum(expected.values())
    result.fired = sum(by_rule.values())
    result.per_rule = {
        r: {"planted": expected[r], "fired": by_rule[r]} for r in sorted(expected | by_rule)
    }
    result.missing = [f"{r} x{n - by_rule[r]}" for r, n in expected.items() if by_rule[r] < n]
    result.spurious = [f"{r} x{n - expected[r]}" for r, n in by_rule.items() if n > expected[r]]


def one_run(
    n: int, args: argparse.Namespace, cluster: LocalCluster, workdir: Path, advance: Any
) -> RunResult:
    result = RunResult(run=n, events=args.events)
    prefix = f"chaos{uuid.uuid4().hex[:8]}"
    env = hub_env(cluster.bootstrap, prefix, workdir / "state")
    started = time.perf_counter()
    workers = Workers(env, workdir)
    sim: Simulation | None = None
    try:
        sim = make_events(workdir / "events.jsonl", args.events, args.seed + n)
        run_cli(env, "topics", "create")
        input_topic = f"{prefix}.events.safety"
        cluster.wait_in_sync([input_topic, f"{prefix}.alerts"])
        workers.start("w1")
        workers.start("w2")
        parts = chunks(workdir / "events.jsonl", len(FAULTS) + 1)
        for i, part in enumerate(parts):
            publisher = subprocess.Popen(
                [ONENET, "publish", str(part)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            if i < len(FAULTS) and not args.no_faults:
                result.faults.append(apply_fault(FAULTS[i], i, workers, cluster, input_topic))
            _, err = publisher.communicate(timeout=600)
            if publisher.returncode != 0:
                raise RuntimeError(f"publish of chunk {i} failed: {err[-1500:]}")
            advance(1)
        topics = [f"{prefix}.events.{d}" for d in DOMAINS]
        wait_consumed(cluster.bootstrap, f"{prefix}-hub", topics, timeout=args.drain_timeout)
        expected = len(sim.truths)
        deadline = time.monotonic() + args.drain_timeout
        alerts = read_alerts(cluster.bootstrap, f"{prefix}.alerts")
        while time.monotonic() < deadline and fired_count(alerts) < expected:
            time.sleep(2)
            alerts = read_alerts(cluster.bootstrap, f"{prefix}.alerts")
        time.sleep(5)  # anything spurious or repeated would show by now
        if dead := workers.dead():
            raise RuntimeError(f"worker(s) {dead} exited; see {workdir}")
    except Exception as exc:  # a failed run is reported in the table, the next one goes on
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        workers.stop()
        result.seconds = time.perf_counter() - started
        if sim is not None:
            # A failed run too: which rules fired how often is what says why it failed.
            try:
                judge(result, sim, read_alerts(cluster.bootstrap, f"{prefix}.alerts"))
            except Exception as exc:  # the cluster itself may be what failed
                result.error = result.error or f"alerts unreadable: {type(exc).__name__}: {exc}"
    return result


def fired_count(alerts: list[dict[str, Any]]) -> int:
    return len({a["data"]["alert_id"] for a in alerts if a["type"] == "city.alert.firing"})


@contextmanager
def cluster_in(state: Path, progress_note: Callable[[str], None]) -> Iterator[LocalCluster]:
    progress_note("starting a three-node cluster")
    cluster = LocalCluster(state, nodes=3, min_insync=2)
    try:
        cluster.start(timeout=240)
        yield cluster
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=positive, default=100_000, help="events per run [100000]")
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=600.0,
        help="seconds to wait for the workers to consume everything [600]",
    )
    parser.add_argument(
        "--no-faults",
        action="store_true",
        help="the same runs without any fault: a control for the alert counts",
    )
    add_common_arguments(parser, runs=5)
    args = parser.parse_args(argv)
    # A SIGTERM (a timeout, Ctrl-C's cousin) must still stop the cluster and the workers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    console = make_console()
    results: list[RunResult] = []
    try:
        with tempfile.TemporaryDirectory(prefix="onenet-chaos-") as tmp:
            root = Path(tmp)
            with (
                make_progress(console) as progress,
                cluster_in(root / "cluster", console.log) as cluster,
                phase(
                    progress, "chaos runs (chunks published)", args.runs * (len(FAULTS) + 1)
                ) as adv,
            ):
                for n in range(1, args.runs + 1):
                    workdir = root / f"run-{n}"
                    workdir.mkdir()
                    results.append(one_run(n, args, cluster, workdir, adv))
                    console.log(
                        f"run {n}: {'passed' if results[-1].passed else 'FAILED'} "
                        f"in {results[-1].seconds:.0f} s {results[-1].error}"
                    )
    finally:
        # Whatever stopped the runs (the cluster not starting, a SIGTERM, Ctrl-C), the runs
        # done so far are reported: the tables and the JSON.
        passed = report(console, args, results)
    return 0 if results and passed == len(results) == args.runs else 1


def report(console: Any, args: argparse.Namespace, results: list[RunResult]) -> int:
    """Print the runs' table and the per-rule table, write the JSON; returns runs passed."""
    rows = [
        [
            str(r.run),
            f"{r.events:,}",
            f"{r.expected}",
            f"{r.fired}",
            str(len(r.missing)),
            str(len(r.spurious)),
            str(len(r.repeated)),
            f"{r.seconds:.0f}",
            "pass" if r.passed else f"FAIL {r.error[:60]}",
        ]
        for r in results
    ]
    passed = sum(r.passed for r in results)
    print_table(
        console,
        f"Chaos: {passed} of {len(results)} runs passed ({args.runs} asked for)",
        ["run", "events", "planted", "fired", "missing", "spurious", "repeated", "s", "result"],
        rows,
        caption="faults per run: " + "; ".join(results[0].faults) if results else None,
        left=1,
    )
    rules = sorted({rule for r in results for rule in r.per_rule})
    print_table(
        console,
        "Chaos: alerts fired / planted, per rule and run",
        ["rule", *(f"run {r.run}" for r in results)],
        [[rule, *(per_rule_cell(r, rule) for r in results)] for rule in rules],
        left=1,
    )
    path = write_json(
        NAME,
        {
            "parameters": {"events": args.events, "runs": args.runs, "seed": args.seed},
            "results": [r.to_json() for r in results],
            "passed": passed,
        },
        args.results_dir,
    )
    console.print(f"results: {path}")
    return passed


def per_rule_cell(result: RunResult, rule: str) -> str:
    counts = result.per_rule.get(rule)
    return f"{counts['fired']} / {counts['planted']}" if counts else "-"


if __name__ == "__main__":
    sys.exit(main())
