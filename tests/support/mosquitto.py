"""A real Mosquitto broker on a loopback port, started and stopped by the test that needs it.

Persistence is on, in a temporary folder, so a stop/start on the same port keeps persistent
sessions and their queued QoS 1 messages, as a broker restart in production would.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

INSTALL_HINT = "apt-get update && apt-get install -y mosquitto"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if found is None:
        raise RuntimeError(f"mosquitto is not installed; install it with: {INSTALL_HINT}")
    return found


def _passwd_binary() -> str:
    found = shutil.which("mosquitto_passwd")
    if found is None:
        raise RuntimeError(f"mosquitto_passwd is missing; install it with: {INSTALL_HINT}")
    return found


class Mosquitto:
    """`with Mosquitto(tmp_path) as broker:` gives `broker.port`; `restart()` keeps the port.

    `users` (name -> password) turns anonymous access off and requires those credentials.
    """

    def __init__(
        self, workdir: Path, port: int | None = None, users: dict[str, str] | None = None
    ) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "mosquitto.log"
        self.conf_path = workdir / "mosquitto.conf"
        data = workdir / "mosquitto-data"
        data.mkdir(parents=True, exist_ok=True)
        auth = "allow_anonymous true\n"
        if users:
            passwords = workdir / "passwords"
            passwords.write_text("".join(f"{user}:{pw}\n" for user, pw in users.items()))
            passwords.chmod(0o600)
            # mosquitto_passwd -U hashes the plain-text file in place, as an operator would.
            subprocess.run([_passwd_binary(), "-U", str(passwords)], check=True)
            auth = f"allow_anonymous false\npassword_file {passwords}\n"
        self.conf_path.write_text(
            f"listener {self.port} 127.0.0.1\n"
            # Stay the current user: as root, mosquitto would switch to `mosquitto`, which
            # cannot read a test's private temporary folder.
            f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
            f"{auth}"
            "persistence true\n"
            f"persistence_location {data}/\n"
            "autosave_interval 1\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
        )

    def start(self, timeout: float = 15) -> None:
        binary = mosquitto_binary()
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [binary, "-c", str(self.conf_path)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited with {self.proc.returncode}:\n{self.log()[-2000:]}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.port}:\n{self.log()[-2000:]}")

    def stop(self) -> None:
        """SIGTERM, so mosquitto writes its persistence file as a clean shutdown does."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
