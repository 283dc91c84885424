"""Oversized request bodies are refused before they are read, and the map stays small."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import h3  # type: ignore[import-untyped]
import pytest
import uvicorn

from hub.view.app import create_app
from hub.view.citymap import MAX_BACKGROUND_CELLS, CityGrid
from hub.view.cli import bind
from hub.view.config import ViewSettings
from tests.view.support import write_tokens

HUNDRED_MB = 100 * 1024 * 1024
CHUNK = b"x" * (1 << 20)


def _peak_rss_reset() -> None:
    """Start a new high-water mark of this process's resident memory (Linux clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/self/status")


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A Kafka-less view served over real HTTP by uvicorn in a thread."""
    workdir = tmp_path_factory.mktemp("limits")
    settings = ViewSettings(
        view_tokens_file=write_tokens(workdir / "tokens.toml"),
        view_session_secret="test-secret-0123456789",
        state_dir=workdir,
    )
    app = create_app(settings, bootstrap=None)
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the view did not start"
        time.sleep(0.05)
    host, port = sock.getsockname()[:2]
    try:
        yield host, port
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def _read_status(conn: socket.socket, prefix: bytes = b"") -> int:
    data = prefix
    while b"\r\n\r\n" not in data:
        part = conn.recv(65536)
        if not part:
            break
        data += part
    return int(data.split(b" ", 2)[1])


def test_declared_100_mb_body_is_refused_before_it_is_sent(view: tuple[str, int]) -> None:
    _peak_rss_reset()
    before = _peak_rss_bytes()
    started = time.monotonic()
    with socket.create_connection(view, timeout=10) as conn:
        conn.sendall(
            b"POST /api/session HTTP/1.1\r\nHost: view\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {HUNDRED_MB}\r\n\r\n".encode()
        )
        conn.sendall(CHUNK)  # a first megabyte; the answer does not wait for the rest
        status = _read_status(conn)
    assert status == 413
    assert time.monotonic() - started < 5
    assert _peak_rss_bytes() - before < 30 * 1024 * 1024


def test_chunked_100_mb_body_is_cut_off_while_streaming(view: tuple[str, int]) -> None:
    _peak_rss_reset()
    before = _peak_rss_bytes()
    started = time.monotonic()
    sent = 0
    with socket.create_connection(view, timeout=10) as conn:
        conn.sendall(
            b"POST /api/session HTTP/1.1\r\nHost: view\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        frame = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
        conn.setblocking(False)
        answer = b""
        while sent < HUNDRED_MB and b"\r\n\r\n" not in answer:
            with contextlib.suppress(BlockingIOError):
                answer += conn.recv(65536)
            try:
                conn.sendall(frame)
                sent += len(CHUNK)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                time.sleep(0.01)
            assert time.monotonic() - started < 30, "no answer while streaming"
        conn.setblocking(True)
        status = _read_status(conn, answer)
    assert status == 413
    assert sent < HUNDRED_MB // 4  # refused long before the end of the body
    assert _peak_rss_bytes() - before < 30 * 1024 * 1024


def test_small_bodies_still_reach_the_route(view: tuple[str, int]) -> None:
    with socket.create_connection(view, timeout=10) as conn:
        body = b'{"token": "wrong-token-0123456789"}'
        conn.sendall(
            b"POST /api/session HTTP/1.1\r\nHost: view\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        status = _read_status(conn)
    assert status == 401


def test_a_reading_far_away_costs_a_few_cells() -> None:
    grid = CityGrid()
    for i in range(40):
        grid.observe(31.20 + i * 0.002, 121.40 + i * 0.002, "310101")
    grid.observe(51.20, 121.40, "far")  # 20 degrees north
    started = time.monotonic()
    cells, labels = grid.background()
    assert time.monotonic() - started < 1.0
    assert len(cells) < 500
    assert not grid.capped
    far = h3.latlng_to_cell(51.20, 121.40, 8)
    assert far in {c.cell for c in cells}
    assert {label.district for label in labels} == {"310101", "far"}


def test_the_background_is_capped_and_says_so() -> None:
    grid = CityGrid()
    seen = 0
    lat = 30.0
    while seen <= MAX_BACKGROUND_CELLS:
        grid.observe(lat, 121.0, None)
        lat += 0.01
        seen += 1
    cells, _ = grid.background()
    assert len(cells) == MAX_BACKGROUND_CELLS
    assert grid.capped
