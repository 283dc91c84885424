"""Run the official Kafka jars as one detached KRaft node on loopback.

Development machines and CI here have no Docker engine, yet the hub must be tested against a
real broker. This module starts `kafka.Kafka` with `java` from the jars that `make jars`
resolves, keeps everything (config, cluster id, data, logs, pid) under
`<state_dir>/broker/`, and identifies its own process by the command line rather than trusting
a pid file, so a reused pid can never make `stop` signal a stranger.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import string
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.errors import UserError
from hub.settings import REPO_ROOT, Settings

HOST = "127.0.0.1"
NODE_ID = 1
MAIN_CLASS = "kafka.Kafka"
TEMPLATE_DIR = REPO_ROOT / "deploy" / "kafka"
JAVA_HINT = "install OpenJDK 17+: apt-get install -y openjdk-17-jre-headless"
JARS_HINT = "run `make jars` (Maven resolves them from deploy/kafka/pom.xml)"
TAIL_LINES = 20
_RUN_MARKER = "--- onenet broker start at"
# Java stack frames push the message that explains a failure out of a short tail.
_STACK_FRAME = re.compile(r"^\s+(at |\.\.\. \d+ more)")

# Children started by this Python process, kept so they are reaped on stop (no zombies that
# would look alive) and so Popen does not warn about a child still running at collection.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class BrokerError(UserError):
    """A problem with the local broker the user can fix: what is wrong, and a hint how to fix it.

    A `UserError`, so `onenet` prints it as one message and a hint, never a traceback.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str | None
    log_file: Path
    data_dir: Path

    def to_dict(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "pid": self.pid,
            "bootstrap": self.bootstrap,
            "log_file": str(self.log_file),
            "data_dir": str(self.data_dir),
        }


@dataclass(frozen=True)
class StartResult:
    bootstrap: str
    pid: int
    already_running: bool


@dataclass(frozen=True)
class ClusterNode:
    """Where one node stands in its cluster; the defaults are the single local broker."""

    node_id: int = NODE_ID
    folder: str = "broker"
    # Fixed for a cluster: every node's config names every controller's port.
    controller_port: int | None = None
    cluster_id: str | None = None
    overrides: dict[str, str] = field(default_factory=dict)


class LocalBroker:
    """One local broker per state folder; every method is safe to call from any process."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        state_dir: Path | str | None = None,
        lib_dir: Path | str | None = None,
        heap_mb: int | None = None,
        port: int | None = None,
        template_dir: Path | str = TEMPLATE_DIR,
        node: ClusterNode | None = None,
    ) -> None:
        s = settings if settings is not None else Settings()
        self.node = node if node is not None else ClusterNode()
        self.home = Path(state_dir if state_dir is not None else s.state_dir).resolve() / (
            self.node.folder
        )
        self.lib_dir = Path(lib_dir if lib_dir is not None else s.kafka_lib_dir).resolve()
        self.heap_mb = heap_mb if heap_mb is not None else s.broker_heap_mb
        self.port = port if port is not None else s.broker_port
        self.template_dir = Path(template_dir).resolve()
        if self.heap_mb < 256:
            raise BrokerError(f"heap of {self.heap_mb} MiB is too small for Kafka; use >= 256")
        if not 0 <= self.port <= 65535:
            raise BrokerError(f"port {self.port} is not a TCP port; use 0 for a free one")

    # -- paths -----------------------------------------------------------------------------

    @property
    def config_file(self) -> Path:
        return self.home / "server.properties"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def log_file(self) -> Path:
        """Kafka's own log (log4j2); JVM output that bypasses log4j goes to `stdout.log`."""
        return self.logs_dir / "server.log"

    @property
    def stdout_file(self) -> Path:
        return self.logs_dir / "stdout.log"

    @property
    def state_file(self) -> Path:
        return self.home / "state.json"

    @property
    def cluster_id_file(self) -> Path:
        return self.home / "cluster.id"

    # -- public API --------------------------------------------------------------------------

    def start(self, timeout: float = 90.0) -> str:
        """Start (or find) the broker and return its bootstrap address once it serves."""
        return self.ensure_running(timeout).bootstrap

    def ensure_running(self, timeout: float = 90.0) -> StartResult:
        """Like `start`, but also says whether a broker was already running (for the CLI)."""
        deadline = time.monotonic() + timeout
        with self._lock():
            state = self._read_state()
            pid = self._live_pid(state)
            if pid is not None:
                bootstrap = str(state["bootstrap"])
                if not state.get("ready"):
                    self._wait_ready(bootstrap, pid, deadline, timeout, spawned=False)
                    self._write_state({**state, "ready": True})
                return StartResult(bootstrap, pid, already_running=True)
            java = find_java()
            self._check_files()
            # An auto-picked port can be taken between our check and java's bind; one retry
            # with fresh ports hides that race. An explicit port is the user's choice: no retry.
            attempts = 2 if self.port == 0 else 1
            for attempt in range(1, attempts + 1):
                try:
                    return self._launch(java, state, deadline, timeout, fresh=attempt > 1)
                except _PortRace:
                    if attempt == attempts:
                        raise BrokerError(
                            "the broker could not bind its port (another process took it); "
                            "run the command again"
                        ) from None
            raise AssertionError("unreachable")

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop our broker gracefully (SIGTERM, then SIGKILL); False if none was running."""
        return self._halt(signal.SIGTERM, timeout)

    def kill(self) -> bool:
        """`kill -9` the broker: no controlled shutdown, as when a machine dies."""
        return self._halt(signal.SIGKILL, 10.0)

    def _halt(self, first: signal.Signals, timeout: float) -> bool:
        with self._lock():
            state = self._read_state()
            pid = self._live_pid(state)
            if pid is None:
                return False
            _signal(pid, first)
            if not self._wait_gone(pid, timeout):
                _signal(pid, signal.SIGKILL)
                self._wait_gone(pid, 10.0)
            _CHILDREN.pop(pid, None)
            self._write_state(
                {**state, "pid": None, "ready": False, "stopped_at": _now()}
                if state
                else {"pid": None}
            )
            return True

    def status(self) -> BrokerStatus:
        """Report without blocking: a start in progress holds the lock for many seconds."""
        state = self._read_state()
        pid = state.get("pid")
        alive = isinstance(pid, int) and self._is_ours(pid)
        if isinstance(pid, int) and not alive:
            with self._lock(blocking=False) as locked:
                if locked:
                    self._live_pid(self._read_state())  # clears the stale pid
        return BrokerStatus(
            running=alive,
            pid=pid if alive and isinstance(pid, int) else None,
            bootstrap=str(state.get("bootstrap")) if alive else None,
            log_file=self.log_file,
            data_dir=self.data_dir,
        )

    # -- starting ----------------------------------------------------------------------------

    def _launch(
        self, java: str, state: dict[str, Any], deadline: float, timeout: float, *, fresh: bool
    ) -> StartResult:
        broker_port, controller_port = self._choose_ports(state, prefer_previous=not fresh)
        cluster_id = self._cluster_id()
        self._render_config(broker_port, controller_port)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        if not (self.data_dir / "meta.properties").is_file():
            self._format(java, cluster_id)
        bootstrap = f"{HOST}:{broker_port}"
        offsets = {p: _size(p) for p in (self.log_file, self.stdout_file)}
        proc = self._spawn(java)
        new_state = {
            "pid": proc.pid,
            "ready": False,
            "bootstrap": bootstrap,
            "broker_port": broker_port,
            "controller_port": controller_port,
            "cluster_id": cluster_id,
            "started_at": _now(),
            "main_class": MAIN_CLASS,
            "config": str(self.config_file),
            "cmdline": proc.args,
        }
        self._write_state(new_state)
        try:
            self._wait_ready(bootstrap, proc.pid, deadline, timeout, spawned=True, offsets=offsets)
        except BaseException:
            # Includes Ctrl-C: a half-started broker that nobody waits for only confuses.
            self._kill_child(proc)
            self._write_state({**new_state, "pid": None})
            raise
        self._write_state({**new_state, "ready": True})
        return StartResult(bootstrap, proc.pid, already_running=False)

    def _check_files(self) -> None:
        if not self.lib_dir.is_dir() or not any(self.lib_dir.glob("kafka_2.13-*.jar")):
            raise BrokerError(f"the Kafka jars are missing from {self.lib_dir}", hint=JARS_HINT)
        for name in ("server.properties.template", "log4j2.properties"):
            if not (self.template_dir / name).is_file():
                raise BrokerError(
                    f"{self.template_dir / name} is missing",
                    hint="restore deploy/kafka/ from the repository (git checkout -- deploy/kafka)",
                )

    def _choose_ports(self, state: dict[str, Any], *, prefer_previous: bool) -> tuple[int, int]:
        """Re-use last run's ports when free, so a restarted broker keeps its address."""
        prev_broker = state.get("broker_port") if prefer_previous else None
        prev_controller = state.get("controller_port") if prefer_previous else None
        if self.node.controller_port:
            prev_controller = self.node.controller_port
        if self.port:
            if not _port_free(self.port):
                raise BrokerError(
                    f"port {self.port} on {HOST} is already in use",
                    hint="choose another with --port (or ONENET_BROKER_PORT), or 0 to pick a "
                    "free one",
                )
            broker = self.port
        elif isinstance(prev_broker, int) and _port_free(prev_broker):
            broker = prev_broker
        else:
            broker = _free_port(avoid={0})
        if (
            isinstance(prev_controller, int)
            and prev_controller != broker
            and (_port_free(prev_controller) or prev_controller == self.node.controller_port)
        ):
            return broker, prev_controller
        return broker, _free_port(avoid={broker})

    def _cluster_id(self) -> str:
        """The data folder is the truth; cluster.id only remembers it for a re-format."""
        meta = self.data_dir / "meta.properties"
        if meta.is_file():
            for line in meta.read_text(encoding="utf-8").splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "cluster.id" and value.strip():
                    return value.strip()
        if self.node.cluster_id:
            return self.node.cluster_id
        if self.cluster_id_file.is_file():
            stored = self.cluster_id_file.read_text(encoding="utf-8").strip()
            if stored:
                return stored
        cluster_id = _random_kafka_uuid()
        self.home.mkdir(parents=True, exist_ok=True)
        self.cluster_id_file.write_text(cluster_id + "\n", encoding="utf-8")
        return cluster_id

    def _render_config(self, broker_port: int, controller_port: int) -> None:
        template = (self.template_dir / "server.properties.template").read_text(encoding="utf-8")
        try:
            rendered = string.Template(template).substitute(
                node_id=self.node.node_id,
                broker_port=broker_port,
                controller_port=controller_port,
                data_dir=_properties_value(str(self.data_dir)),
            )
            # Java properties keep the last value of a key, so a cluster's settings win.
            rendered += "".join(f"{k}={v}\n" for k, v in self.node.overrides.items())
        except (KeyError, ValueError) as exc:
            raise BrokerError(
                f"{self.template_dir / 'server.properties.template'} has a bad placeholder "
                f"({exc}); write a literal $ as $$"
            ) from exc
        self.home.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.config_file, rendered)

    def _jvm_base(self, java: str) -> list[str]:
        return [
            java,
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.template_dir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.logs_dir}",
        ]

    def _format(self, java: str, cluster_id: str) -> None:
        """First start only: an unformatted log dir is what makes Kafka refuse to start."""
        cmd = [
            *self._jvm_base(java),
            "-Xmx256m",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            str(self.lib_dir / "*"),
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(self.config_file),
            *self._format_options(),
        ]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=120, cwd=self.home, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise BrokerError("formatting the broker storage took over 120 s; retry") from exc
        if done.returncode != 0:
            output = "\n".join((done.stdout + done.stderr).splitlines()[-TAIL_LINES:])
            raise BrokerError(
                f"formatting the broker storage in {self.data_dir} failed "
                f"(exit {done.returncode}):\n{output}",
                hint=_hint(output, self),
            )

    def _format_options(self) -> list[str]:
        """Extra `kafka-storage format` arguments (SCRAM users of a secured broker)."""
        return []

    def _probe_options(self) -> dict[str, Any]:
        """Client options the readiness probe connects with (security of a secured broker)."""
        return {}

    def _spawn(self, java: str) -> subprocess.Popen[bytes]:
        cpus = max(1, min(os.cpu_count() or 1, 2))
        cmd = [
            *self._jvm_base(java),
            f"-Xms{max(256, self.heap_mb // 2)}m",
            f"-Xmx{self.heap_mb}m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExplicitGCInvokesConcurrent",
            # Size GC and compiler thread pools for a small box even on a big one.
            f"-XX:ActiveProcessorCount={cpus}",
            # C1 only: starts ~1.5 s (40 %) faster on 2 cores, plenty for a dev broker. For
            # benchmarks, restore the full JIT with KAFKA_OPTS=-XX:TieredStopAtLevel=4.
            "-XX:TieredStopAtLevel=1",
            # A dead broker is restarted by the user or the fixture; a thrashing one helps no one.
            "-XX:+ExitOnOutOfMemoryError",
            # Last, so they win: the variable Kafka's own start scripts honour.
            *shlex.split(os.environ.get("KAFKA_OPTS", "")),
            "-cp",
            str(self.lib_dir / "*"),
            MAIN_CLASS,
            str(self.config_file),
        ]
        with self.stdout_file.open("ab") as out:
            out.write(f"{_RUN_MARKER} {_now()}\n".encode())
            out.flush()
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.home,
                # Own session: Ctrl-C in the terminal that ran `onenet broker start`, or the end
                # of that shell, must not take the broker down with it.
                start_new_session=True,
                close_fds=True,
            )
        _CHILDREN[proc.pid] = proc
        return proc

    def _wait_ready(
        self,
        bootstrap: str,
        pid: int,
        deadline: float,
        timeout: float,
        *,
        spawned: bool,
        offsets: dict[Path, int] | None = None,
    ) -> None:
        """Ready means the broker itself answers: registered, unfenced, in the metadata."""
        while True:
            if not self._is_ours(pid):
                if not spawned:
                    raise BrokerError(
                        f"the broker (pid {pid}) exited; see {self.log_file}, then start it again"
                    )
                tail = self._log_tail(offsets or {})
                if "Address already in use" in tail and self.port == 0:
                    raise _PortRace(tail)
                code = _CHILDREN[pid].returncode if pid in _CHILDREN else None
                raise BrokerError(
                    f"the broker exited (code {code}) while starting; last lines of its log "
                    f"({self.log_file}):\n{tail}",
                    hint=_hint(tail, self),
                )
            if _broker_answers(bootstrap, self.node.node_id, **self._probe_options()):
                return
            if time.monotonic() >= deadline:
                if not spawned:
                    raise BrokerError(
                        f"the broker (pid {pid}) runs but did not answer at {bootstrap} within "
                        f"{timeout:.0f} s; see {self.log_file}, or `onenet broker stop` and start "
                        "it again"
                    )
                tail = self._log_tail(offsets or {})
                raise BrokerError(
                    f"the broker did not answer at {bootstrap} within {timeout:.0f} s, so it was "
                    f"stopped; give it longer with --timeout or more memory with --heap-mb. Last "
                    f"lines of its log ({self.log_file}):\n{tail}"
                )
            time.sleep(0.25)

    def _log_tail(self, offsets: dict[Path, int]) -> str:
        """Only this run's lines: the files are appended to across restarts."""
        lines: list[str] = []
        for path in (self.log_file, self.stdout_file):
            text = _read_from(path, offsets.get(path, 0))
            lines.extend(
                line
                for line in text.splitlines()
                if line.strip()
                and not line.startswith(_RUN_MARKER)
                and not _STACK_FRAME.match(line)
            )
        return "\n".join(lines[-TAIL_LINES:]) or "(the log is empty)"

    # -- process identity --------------------------------------------------------------------

    def _is_ours(self, pid: int) -> bool:
        """Alive and running our config: pids are reused, a pid file alone proves nothing."""
        child = _CHILDREN.get(pid)
        if child is not None:
            # Our own unreaped child cannot have a reused pid, and its /proc cmdline reads
            # empty for a moment right after exec. poll() also reaps it, so no zombie remains.
            return child.poll() is None
        args = _cmdline(pid)
        return MAIN_CLASS in args and str(self.config_file) in args

    def _live_pid(self, state: dict[str, Any]) -> int | None:
        """The running broker's pid; a stale pid is cleared (call with the lock held)."""
        pid = state.get("pid")
        if not isinstance(pid, int):
            return None
        if self._is_ours(pid):
            return pid
        _CHILDREN.pop(pid, None)
        self._write_state({**state, "pid": None, "ready": False})
        return None

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self._is_ours(pid):
                return True
            time.sleep(0.1)
        return not self._is_ours(pid)

    def _kill_child(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
        _CHILDREN.pop(proc.pid, None)

    # -- state file and lock -----------------------------------------------------------------

    def _read_state(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_state(self, state: dict[str, Any]) -> None:
        _atomic_write(self.state_file, json.dumps(state, indent=2) + "\n")

    @contextlib.contextmanager
    def _lock(self, *, blocking: bool = True) -> Iterator[bool]:
        """Serialise start/stop across processes: two `start`s must not launch two JVMs."""
        self.home.mkdir(parents=True, exist_ok=True)
        with (self.home / ".lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class _PortRace(Exception):
    """The auto-picked port was taken between our check and the broker's bind."""


def find_java() -> str:
    """$JAVA_HOME/bin/java first, like Kafka's own scripts, then `java` on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise BrokerError(f"`java` was not found on PATH; {JAVA_HINT}")
    return found


def _broker_answers(bootstrap: str, node_id: int, **options: Any) -> bool:
    """A cheap TCP probe first: kafka-python would spend its whole timeout on a closed port."""
    host, _, port = bootstrap.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            pass
    except OSError:
        return False
    from kafka import KafkaAdminClient  # import here: kafka-python is slow to import

    with _quiet_kafka_logs():
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap,
                client_id="onenet-broker-probe",
                request_timeout_ms=3000,
                bootstrap_timeout_ms=3000,
                **options,
            )
        except Exception:
            return False
        try:
            cluster = admin.describe_cluster()
        except Exception:
            return False
        finally:
            admin.close()
    brokers = cluster.get("brokers") or []
    return any(b.get("broker_id") == node_id and not b.get("is_fenced") for b in brokers)


@contextlib.contextmanager
def _quiet_kafka_logs() -> Iterator[None]:
    """Probing a starting broker fails by design; its errors must not reach the terminal."""
    logger = logging.getLogger("kafka")
    before = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(before)


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return []
        return _ps_cmdline(pid)  # no procfs (macOS): ask ps
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _ps_cmdline(pid: int) -> list[str]:
    done = subprocess.run(
        ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    return done.stdout.split() if done.returncode == 0 else []


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _port_free(port: int) -> bool:
    """Bind like the JVM does (SO_REUSEADDR), so our own TIME_WAIT sockets don't count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_port(avoid: set[int]) -> int:
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port: int = sock.getsockname()[1]
        if port not in avoid:
            return port
    raise BrokerError(f"found no free TCP port on {HOST}; free some ports and retry")


def _random_kafka_uuid() -> str:
    """Kafka's Uuid text form (22 chars, base64url); a leading '-' would read as a CLI flag."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _properties_value(value: str) -> str:
    return value.replace("\\", "\\\\")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as handle:
            if _size(path) >= offset:  # smaller means log4j rolled it: read it all
                handle.seek(offset)
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


_HINTS: list[tuple[tuple[str, ...], Callable[[LocalBroker], str]]] = [
    (("UnsupportedClassVersionError",), lambda b: f"Kafka 4 needs Java 17 or newer; {JAVA_HINT}"),
    (
        ("Address already in use",),
        lambda b: "a port is in use; pick another with --port, or 0 for a free one",
    ),
    (
        ("OutOfMemoryError", "Could not reserve enough space"),
        lambda b: "the JVM ran out of memory; change --heap-mb (ONENET_BROKER_HEAP_MB)",
    ),
    (
        ("meta.properties", "doesn't match", "Invalid cluster.id", "cluster ID"),
        lambda b: (
            f"the data in {b.data_dir} does not fit this broker; delete {b.home} to start "
            "afresh (this deletes the local topics)"
        ),
    ),
    (
        ("ClassNotFoundException", "NoClassDefFoundError"),
        lambda b: f"jars look broken; {JARS_HINT}",
    ),
]


def _hint(output: str, broker: LocalBroker) -> str | None:
    for needles, hint in _HINTS:
        if any(needle in output for needle in needles):
            return hint(broker)
    return None
