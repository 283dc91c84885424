"""The file a replay reads: its format, its identity for resuming, and its records by line.

Records keep their line numbers (for `origin` and the checkpoint) and their original bytes
(dead-lettered as they were). A checkpoint names the file and a fingerprint of its head, so a
different file, or the same path overwritten by a newer export, starts from its beginning
instead of skipping lines that were never published; a file that only grew resumes.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

from hub.errors import UserError

Format = Literal["jsonl", "csv"]

log = logging.getLogger("onenet.connector.replay")

STDIN = "-"
HEAD_BYTES = 4096
_BOM = codecs.BOM_UTF8
# Not `.json`: that is usually one JSON array, which read line by line would be all rejects.
_EXTENSIONS: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
}


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read: `line` is where it starts, `end` is the checkpoint after it."""

    line: int
    end: int
    raw: bytes
    row: dict[str, str] | None = None
    problem: tuple[str, str] | None = None


def format_of(file: str) -> Format | None:
    """The format an extension implies (`.csv.gz` counts as `.csv`), or None."""
    if file == STDIN:
        return None
    path = Path(file)
    suffix = path.suffix.lower()
    if suffix == ".gz":
        suffix = Path(path.stem).suffix.lower()
    return _EXTENSIONS.get(suffix)


def is_tsv(file: str) -> bool:
    return file != STDIN and file.lower().removesuffix(".gz").endswith(".tsv")


def open_binary(file: str) -> BinaryIO:
    if file == STDIN:
        return sys.stdin.buffer
    if file.lower().endswith(".gz"):
        return cast(BinaryIO, gzip.open(file, "rb"))
    return open(file, "rb")


def fingerprint(file: str, length: int = HEAD_BYTES) -> dict[str, Any] | None:
    """Who the file is, for the checkpoint; None for standard input, which cannot resume."""
    if file == STDIN:
        return None
    with open(file, "rb") as fh:
        head = fh.read(length)
    return {
        "file": str(Path(file).resolve()),
        "head": hashlib.sha256(head).hexdigest()[:32],
        "head_len": len(head),
    }


def resume_line(saved: Any, identity: dict[str, Any] | None) -> int:
    """The line to resume after: the checkpoint's, if it is about this very file."""
    if identity is None or not isinstance(saved, dict):
        if identity is None and isinstance(saved, dict):
            log.info("reading standard input from its start (it cannot be resumed)")
        return 0
    if saved.get("file") != identity["file"]:
        if saved.get("file"):
            log.info(
                "checkpoint is about %s; starting %s from its start",
                saved.get("file"),
                identity["file"],
            )
        return 0
    head_len = saved.get("head_len")
    line = saved.get("line")
    if not isinstance(head_len, int) or not isinstance(line, int):
        return 0
    now = fingerprint(identity["file"], head_len)
    if now is None or now["head"] != saved.get("head") or now["head_len"] != head_len:
        log.warning(
            "%s changed since the checkpoint (its first %d bytes differ); replaying it from "
            "the start (already published events are recognised as duplicates)",
            identity["file"],
            head_len,
        )
        return 0
    return line


def read_jsonl(stream: BinaryIO, *, after: int = 0) -> Iterator[RawRecord]:
    """Non-blank lines after line `after`, as bytes so bad encodings reach validation."""
    with stream:
        for n, line in enumerate(stream, start=1):
            if n == 1 and line.startswith(_BOM):
                line = line[len(_BOM) :]
            if n <= after:
                continue
            stripped = line.strip()
            if stripped:
                yield RawRecord(n, n, stripped)


def read_csv(
    stream: BinaryIO,
    *,
    after: int = 0,
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
    on_header: Callable[[list[str]], None] = lambda header: None,
) -> Iterator[RawRecord]:
    """Rows after line `after` as {column: cell}; a row that does not fit carries a problem.

    `on_header` sees the header first and may raise (a column the mapping needs is missing).
    """
    text = io.TextIOWrapper(stream, encoding=encoding, errors="surrogateescape", newline="")
    captured: list[str] = []

    def lines() -> Iterator[str]:
        for line in text:
            captured.append(line)
            yield line

    with text:
        reader = csv.reader(lines(), delimiter=delimiter, strict=True)
        header: list[str] | None = None
        last = 0
        while True:
            problem: tuple[str, str] | None = None
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                fields = []
                problem = ("invalid-csv-row", f"not a valid CSV row: {exc}")
            start, last = last + 1, reader.line_num
            raw_text = "".join(captured).rstrip("\r\n")
            captured.clear()
            if not fields and problem is None:
                continue  # a blank line
            if header is None:
                header = _header(fields, raw_text, problem, encoding)
                on_header(header)
                continue
            if last <= after:
                continue
            raw = raw_text.encode(_plain(encoding), "surrogateescape")
            if problem is None:
                problem = _encoding_problem(raw_text, start, encoding)
            if problem is None and len(fields) != len(header):
                problem = ("invalid-csv-row", _width_problem(fields, header))
            if problem is not None:
                yield RawRecord(start, last, raw, problem=problem)
            else:
                yield RawRecord(start, last, raw, row=dict(zip(header, fields, strict=True)))


def _header(
    fields: list[str], raw_text: str, problem: tuple[str, str] | None, encoding: str
) -> list[str]:
    if problem is not None:
        raise UserError(f"the CSV header is not valid: {problem[1]}", hint="fix the first line")
    if _encoding_problem(raw_text, 1, encoding) is not None:
        raise UserError(
            f"the CSV header is not valid {encoding}",
            hint="pass the file's encoding, e.g. --encoding gb18030",
        )
    header = [name.strip() for name in fields]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise UserError(
                f"the CSV header names column {name!r} twice",
                hint="rename one of them so --column can tell them apart",
            )
        seen.add(name)
    return header


def _encoding_problem(raw_text: str, line: int, encoding: str) -> tuple[str, str] | None:
    try:
        raw_text.encode("utf-8")
    except UnicodeEncodeError:
        return (
            "invalid-encoding",
            f"line {line} is not valid {encoding}; pass the file's encoding, "
            "e.g. --encoding gb18030",
        )
    return None


def _plain(encoding: str) -> str:
    """The codec to re-encode a row with: without the BOM that utf-8-sig would prepend."""
    name = codecs.lookup(encoding).name
    return "utf-8" if name == "utf-8-sig" else name


def _width_problem(fields: list[str], header: list[str]) -> str:
    if len(fields) < len(header):
        missing = ", ".join(header[len(fields) :][:5])
        return (
            f"the row has {len(fields)} values but the header has {len(header)} columns "
            f"(missing: {missing})"
        )
    return (
        f"the row has {len(fields)} values but the header has {len(header)} columns "
        "(quote values that contain the delimiter)"
    )
