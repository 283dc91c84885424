"""Run the real `onenet` command as a subprocess, isolated by topic prefix and app id."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

ONENET = shutil.which("onenet", path=str(Path(sys.executable).parent)) or "onenet"


@dataclass
class Hub:
    """One isolated hub on a shared broker: its own topic prefix, consumer group and state."""

    bootstrap: str
    workdir: Path
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}")

    @property
    def app_id(self) -> str:
        return f"{self.prefix}-hub"

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=self.bootstrap,
            ONENET_TOPIC_PREFIX=self.prefix,
            ONENET_APP_ID=self.app_id,
            ONENET_STATE_DIR=str(self.workdir / "state"),
            ONENET_PARTITIONS="3",
            NO_COLOR="1",
            COLUMNS="200",
        )
        env.update(extra)
        return env

    @classmethod
    def with_topics(cls, bootstrap: str, workdir: Path) -> Hub:
        """A hub whose contract topics `onenet topics create` made, as an operator would."""
        made = cls(bootstrap, workdir)
        created = made.run("topics", "create")
        assert created.returncode == 0, created.stderr
        return made

    def run(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ONENET, *args],
            env=self.env(**env),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    @contextmanager
    def worker(self, name: str = "worker", **env: str) -> Iterator[subprocess.Popen[bytes]]:
        log = (self.workdir / f"{name}.log").open("ab")  # a restarted worker keeps its past
        env.setdefault("ONENET_WORKER_DATA_DIR", str(self.workdir / f"{name}-data"))
        proc = subprocess.Popen(
            [ONENET, "worker", "--metrics-port", "0"],
            env=self.env(**env),
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()

    def wait_ready(self, name: str = "worker", timeout: float = 120) -> str:
        """Block until the worker's /readyz answers 200; return its reason."""
        deadline = time.monotonic() + timeout
        answer = "no metrics address in the log yet"
        while time.monotonic() < deadline:
            # The newest start of this worker: a restarted one appends to the same log.
            urls = re.findall(r"metrics on (http://[0-9.:]+)/metrics", self.log(name))
            if urls:
                try:
                    with urllib.request.urlopen(f"{urls[-1]}/readyz", timeout=5) as resp:
                        return str(json.loads(resp.read())["reason"])
                except urllib.error.HTTPError as exc:
                    answer = exc.read().decode(errors="replace")
                except OSError as exc:  # not listening yet
                    answer = str(exc)
            time.sleep(0.5)
        raise AssertionError(f"{name} not ready in {timeout:g} s: {answer}")

    def log(self, name: str = "worker") -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def read_topic(self, topic: str, *, min_records: int = 0, timeout: float = 60) -> list[Any]:
        """Every record of a topic from the start; waits until at least `min_records` arrived."""
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, consumer_timeout_ms=500)
        try:
            parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            consumer.assign(parts)
            consumer.seek_to_beginning(*parts)
            records: list[Any] = []
            deadline = time.monotonic() + timeout
            while True:
                records.extend(consumer)
                ends = consumer.end_offsets(parts)
                caught_up = all(consumer.position(p) >= ends[p] for p in parts)
                if (len(records) >= min_records and caught_up) or time.monotonic() > deadline:
                    return records
        finally:
            consumer.close()

    def wait_consumed(self, topic: str, timeout: float = 90) -> None:
        """Block until the worker group has committed every offset of `topic`."""
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap)
        try:
            parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            deadline = time.monotonic() + timeout
            behind: dict[int, tuple[int, int]] = {}
            while time.monotonic() < deadline:
                ends = consumer.end_offsets(parts)
                try:
                    committed = admin.list_group_offsets(self.app_id).get(self.app_id, {})
                except KafkaError:  # the group does not exist until the worker joins
                    time.sleep(0.5)
                    continue
                done = {p: committed[p].offset if committed.get(p) else 0 for p in parts}
                behind = {p.partition: (done[p], ends[p]) for p in parts if done[p] < ends[p]}
                if not behind:
                    return
                time.sleep(0.5)
            raise AssertionError(
                f"worker group {self.app_id} did not consume {topic} in {timeout:g} s; "
                f"partition: (committed, end) {behind}"
            )
        finally:
            consumer.close()
            admin.close()
