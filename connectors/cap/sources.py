"""Where CAP documents come from: files in a folder, or HTTP (a CAP document or an Atom feed).

Both remember what they already read (file name -> mtime and size; feed entry id + updated),
so a watch re-reads only what changed and a restart resumes where the last one stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

IGNORED_SUFFIXES = (".tmp", ".part", ".swp")
MAX_REMEMBERED_ENTRIES = 5000


def changed_files(folder: Path, pattern: str, seen: dict[str, str]) -> list[tuple[Path, str]]:
    """(path, stamp) of files new or changed since `seen`, oldest first; forgets vanished ones.

    Dot files and *.tmp/*.part are skipped: a producer should write there and rename, so a
    half-written alert is never read.
    """
    found: list[tuple[int, Path, str]] = []
    present: set[str] = set()
    for path in folder.glob(pattern):
        if path.name.startswith(".") or path.name.endswith(IGNORED_SUFFIXES):
            continue
        try:
            stat = path.stat()
        except OSError:
            continue  # removed while we looked
        if not path.is_file():
            continue
        present.add(path.name)
        stamp = f"{stat.st_mtime_ns}:{stat.st_size}"
        if seen.get(path.name) != stamp:
            found.append((stat.st_mtime_ns, path, stamp))
    for name in set(seen) - present:
        del seen[name]
    return [(path, stamp) for _, path, stamp in sorted(found, key=lambda f: (f[0], f[1].name))]


def read_limited(path: Path, max_bytes: int) -> bytes:
    """At most `max_bytes + 1` bytes: enough for the parser to see the file is too large."""
    with path.open("rb") as fh:
        return fh.read(max_bytes + 1)


class FetchFailed(Exception):
    pass


@dataclass
class HttpSource:
    http: httpx.AsyncClient

    async def get(self, url: str, max_bytes: int) -> bytes:
        """The body, cut at `max_bytes + 1` so the parser reports an oversized document."""
        try:
            async with self.http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise FetchFailed(f"{url} answered {response.status_code}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > max_bytes:
                        break
                return b"".join(chunks)[: max_bytes + 1]
        except httpx.HTTPError as exc:
            raise FetchFailed(f"{url}: {type(exc).__name__}: {exc}") from None


def resolve_link(base: str, href: str) -> str | None:
    """Absolute http(s) URL of a feed link, or None for other schemes (file:, ftp:, ...)."""
    url = httpx.URL(base).join(href)
    return str(url) if url.scheme in ("http", "https") else None


def remember(entries: dict[str, int], key: str) -> None:
    entries[key] = 1
    while len(entries) > MAX_REMEMBERED_ENTRIES:
        del entries[next(iter(entries))]
