"""A real Prometheus (Debian's /usr/bin/prometheus) for tests: temp config, loopback, its API.

Debian's package is what CI installs (`.ci/run`); a missing binary fails the test with the
command to run, it never skips: a skipped rules suite looks green.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
RULES_DIR = PROMETHEUS_DIR / "rules"
INSTALL = "apt-get update && apt-get install -y --no-install-recommends prometheus"

T = TypeVar("T")


class PrometheusMissing(Exception):
    """The binary is not installed; the message says how to install it."""


def binary(name: str) -> str:
    """Path of `prometheus` or `promtool`, or PrometheusMissing with the install command."""
    found = shutil.which(name) or (
        f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
    )
    if found is None:
        raise PrometheusMissing(f"{name} is not installed; install it with: {INSTALL}")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def shorten_for(text: str, to: str = "2s") -> str:
    """Rewrite every alert's `for:` so a test sees pending -> firing in seconds, not minutes."""
    return re.sub(r"(?m)^(\s+for:\s*)\S+", rf"\g<1>{to}", text)


def copy_rules(dst: Path, *, for_: str | None = None) -> list[Path]:
    """Copy the shipped rule files into `dst` (optionally with short `for:`); their paths."""
    dst.mkdir(parents=True, exist_ok=True)
    out = []
    for name in ("recording.yml", "alerts.yml"):
        text = (RULES_DIR / name).read_text()
        (dst / name).write_text(shorten_for(text, for_) if for_ else text)
        out.append(dst / name)
    return out


def write_targets(path: Path, targets: Sequence[str], **labels: str) -> Path:
    """A file_sd target file, the same shape as deploy/prometheus/targets/*.json."""
    path.write_text(json.dumps([{"targets": list(targets), "labels": labels}], indent=2))
    return path


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str, every: float = 0.5) -> T:
    """Poll until `probe` returns something truthy; fail with `what` and the last value."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = probe()
        except (OSError, ValueError) as exc:  # not answering yet
            last = exc
        else:
            if value:
                return value
            last = value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what}; last: {last!r}"
            )
        time.sleep(every)


@dataclass
class Prometheus:
    url: str
    proc: subprocess.Popen[bytes]
    workdir: Path

    def get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as resp:
            body = json.load(resp)
        if body.get("status") != "success":
            raise AssertionError(f"Prometheus {path}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant vector result of `expr` (list of {metric, value})."""
        data = self.get("/api/v1/query", query=expr)
        result: list[dict[str, Any]] = data["result"]
        return result

    def rules(self, kind: str | None = None) -> list[dict[str, Any]]:
        params = {"type": kind} if kind else {}
        return [r for g in self.get("/api/v1/rules", **params)["groups"] for r in g["rules"]]

    def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = self.get("/api/v1/alerts")["alerts"]
        return alerts

    def targets(self) -> list[dict[str, Any]]:
        active: list[dict[str, Any]] = self.get("/api/v1/targets")["activeTargets"]
        return active

    def log(self) -> str:
        return (self.workdir / "prometheus.log").read_text(errors="replace")


@contextmanager
def running_prometheus(
    workdir: Path,
    *,
    scrape_configs: list[dict[str, Any]],
    rule_files: Sequence[Path] = (),
    interval: str = "1s",
    start_timeout: float = 60,
) -> Iterator[Prometheus]:
    """Start Prometheus on a free loopback port with this config; stop it afterwards."""
    exe = binary("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": interval,
        },
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": scrape_configs,
    }
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            exe,
            f"--config.file={config_path}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={workdir / 'data'}",
            "--storage.tsdb.retention.time=1h",
            "--log.level=info",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    prom = Prometheus(f"http://127.0.0.1:{port}", proc, workdir)
    try:

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"prometheus exited {proc.returncode}:\n{prom.log()}")
            with urllib.request.urlopen(f"{prom.url}/-/ready", timeout=2) as resp:
                return bool(resp.status == 200)

        wait_for(ready, timeout=start_timeout, what="prometheus /-/ready")
        yield prom
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
