"""`onenet publish` reads its file line by line: a line too long to be an event is reported as
such (head, size, digest) without being held whole, and the lines after it still come."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from hub.events.deadletter import TRUNCATED_BYTES
from hub.publish import Oversized, read_lines, rebase, rebase_shift

LIMIT = 65536


def oversized(line: bytes) -> Oversized:
    return Oversized(line[:TRUNCATED_BYTES], len(line), hashlib.sha256(line).hexdigest())


def test_an_oversized_line_comes_as_its_head_size_and_digest_between_the_others() -> None:
    huge = b'{"pad": "' + b"x" * 10_000_000 + b'"}'
    source = io.BytesIO(b'{"a": 1}\r\n\n' + huge + b"\r\n" + b'  {"b": 2}  \n')
    lines = list(read_lines(source, LIMIT))
    assert lines == [
        (1, b'{"a": 1}'),
        (3, oversized(huge)),
        (4, b'{"b": 2}'),
    ]


def test_the_limit_is_the_largest_accepted_event() -> None:
    exact = b"y" * LIMIT
    over = b"z" * (LIMIT + 3)
    lines = dict(read_lines(io.BytesIO(exact + b"\r\n" + over), LIMIT))
    assert lines[1] == exact
    assert lines[2] == Oversized(
        over[:TRUNCATED_BYTES], len(over), hashlib.sha256(over).hexdigest()
    )


def test_a_ten_megabyte_line_is_never_held_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("wb") as fh:
        for _ in range(10):
            fh.write(b"x" * 1_000_000)
        fh.write(b'\n{"after": true}\n')
    tracemalloc.start()
    try:
        lines = list(read_lines(path, LIMIT))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [n for n, _ in lines] == [1, 2]
    assert isinstance(lines[0][1], Oversized)
    assert lines[0][1].size == 10_000_000
    assert peak < 4_000_000


def test_rebasing_a_time_at_the_end_of_the_calendar_does_not_overflow() -> None:
    far = orjson.dumps({"time": "0001-01-01T00:00:00Z", "data": {"due_by": "9999-12-31T00:00Z"}})
    lines = [(1, far), (2, orjson.dumps({"time": "2024-01-01T00:00:00Z"}))]
    shift = rebase_shift(lines, datetime(2026, 1, 1, tzinfo=UTC))
    assert shift > timedelta(days=700)
    moved = orjson.loads(rebase(far, shift))  # type: ignore[arg-type]
    assert moved["data"]["due_by"].startswith("9999-12-31T23:59:59")
    assert moved["time"].startswith("0003-")
    assert rebase(Oversized(b"", 0, ""), shift) == Oversized(b"", 0, "")
