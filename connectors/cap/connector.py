"""Other agencies' CAP 1.2 alerts (files, or an HTTP CAP/Atom feed) -> hazard and incident events.

Each `<info>` becomes one event with an id from (sender, identifier, info index), so reading the
same alert again, from a re-scan, a re-poll or a restart, is a duplicate. Unsafe XML (any DTD,
hence entity bombs and XXE) and alerts that cannot be placed on the map are dead-lettered with
the reason. See docs/connectors/cap.md for how Update and Cancel are handled.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, tostring

import httpx
from pydantic import BaseModel, ConfigDict, Field

from connectors.cap.mapping import CapMappingConfig, map_alert
from connectors.cap.parse import (
    CapError,
    cap_namespace,
    feed_entries,
    is_atom_feed,
    parse_alert,
    parse_xml,
)
from connectors.cap.sources import (
    FetchFailed,
    HttpSource,
    changed_files,
    read_limited,
    remember,
    resolve_link,
)
from connectors.sdk.base import Connector, pause
from connectors.sdk.item import Item, MappingError
from connectors.sdk.sink import Sink
from hub.errors import UserError

log = logging.getLogger("onenet.connector.cap")

MAX_DEAD_BYTES = 65536


class CapOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path | None = Field(None, description="A CAP file, or a folder of them.")
    url: str | None = Field(None, description="URL of a CAP document or an Atom feed of alerts.")
    watch: bool = Field(False, description="Keep watching the folder / re-polling the feed.")
    interval: float = Field(30.0, gt=0, description="Seconds between scans or polls in --watch.")
    pattern: str = Field("*.xml", description="File name pattern in a folder.")
    language: list[str] = Field(
        default_factory=list,
        description="Preferred <info> language, e.g. zh-CN (repeatable); default: the first "
        "info's language. Other languages of the same alert are not published again.",
    )
    status: list[str] = Field(
        default_factory=lambda: ["Actual"],
        description="CAP statuses to publish (repeatable); Exercise/Test/Draft are skipped.",
    )
    site_param: str = Field(
        "site_id", description="<parameter> valueName holding the site id of a hazard."
    )
    district: str | None = Field(None, description="District code put on every event.")
    max_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest CAP document accepted, in bytes."
    )
    max_feed_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest Atom feed accepted, in bytes."
    )
    timeout: float = Field(10.0, gt=0, description="HTTP timeout in seconds.")


class CapConnector(Connector[CapOptions]):
    """Ingest OASIS CAP 1.2 alerts from files or an HTTP/Atom feed as hazards and incidents."""

    name = "cap"
    summary = "CAP 1.2 alerts (files, HTTP, Atom) -> hazard / incident reports"
    Options = CapOptions

    def __init__(self, options: CapOptions) -> None:
        super().__init__(options)
        if (options.path is None) == (options.url is None):
            raise UserError(
                "give exactly one of --path and --url",
                hint="--path /srv/cap-inbox (a folder) or --url https://agency.example/cap.atom",
            )
        self.mapping = CapMappingConfig(
            languages=tuple(options.language),
            statuses=tuple(options.status),
            site_param=options.site_param,
            district=options.district,
        )
        #: what was read: the checkpoint position, shared with the runner (see _send)
        self.state: dict[str, dict[str, Any]] = {"files": {}, "entries": {}}
        self.skipped = 0
        self.failed_fetches = 0

    async def run(self, sink: Sink) -> None:
        self._resume(sink.resume_from)
        async with httpx.AsyncClient(timeout=self.options.timeout, follow_redirects=True) as http:
            source = HttpSource(http)
            while not sink.stopping.is_set():
                if self.options.path is not None:
                    await self.scan(sink, self.options.path)
                else:
                    assert self.options.url is not None
                    await self.poll(sink, source, self.options.url)
                await sink.checkpoint()
                if not self.options.watch or await pause(sink.stopping, self.options.interval):
                    break
        if self.failed_fetches and not self.options.watch:
            raise UserError(
                f"{self.failed_fetches} CAP document(s) could not be fetched (see the log)",
                hint="they were not marked as read; run again once the server answers",
            )

    def _resume(self, position: Any) -> None:
        if isinstance(position, dict):
            for part in ("files", "entries"):
                if isinstance(position.get(part), dict):
                    self.state[part] = dict(position[part])

    # --- sources ------------------------------------------------------------------------------

    async def scan(self, sink: Sink, path: Path) -> None:
        if not path.exists():
            raise UserError(f"--path {path} does not exist", hint="create it or fix the path")
        folder, pattern = (
            (path, self.options.pattern) if path.is_dir() else (path.parent, path.name)
        )
        files = self.state["files"]
        for file, stamp in changed_files(folder, pattern, files):
            if sink.stopping.is_set():
                return
            try:
                raw = read_limited(file, self.options.max_bytes)
            except OSError as exc:
                log.warning("cannot read %s: %s", file, exc)
                continue
            await self.document(sink, raw, str(file))
            files[file.name] = stamp  # only once all of its records were acknowledged

    async def poll(self, sink: Sink, source: HttpSource, url: str) -> None:
        try:
            raw = await source.get(url, self.options.max_feed_bytes)
        except FetchFailed as exc:
            log.warning("cannot fetch the feed: %s", exc)
            self.failed_fetches += 1
            return
        try:
            root = parse_xml(raw, max_bytes=self.options.max_feed_bytes)
        except CapError as exc:
            await self._reject(sink, raw, exc.reason, exc.detail, url)
            return
        if not is_atom_feed(root):
            await self.document(sink, raw, url, root)
            return
        entries = self.state["entries"]
        for entry in feed_entries(root):
            if entry.key in entries or sink.stopping.is_set():
                continue
            complete = True
            if entry.embedded is not None:
                await self.document(
                    sink, tostring(entry.embedded), f"{url}#{entry.key}", entry.embedded
                )
            for href in entry.links:
                link = resolve_link(url, href)
                if link is None:
                    log.warning(
                        "feed entry %s links to %r: only http(s) is followed", entry.key, href
                    )
                    continue
                try:
                    doc = await source.get(link, self.options.max_bytes)
                except FetchFailed as exc:
                    log.warning("cannot fetch %s: %s", link, exc)
                    self.failed_fetches += 1
                    complete = False
                    continue
                await self.document(sink, doc, link)
            if complete:  # a failed link is fetched again next poll
                remember(entries, entry.key)

    # --- one document -------------------------------------------------------------------------

    async def document(
        self, sink: Sink, raw: bytes, origin: str, root: Element | None = None
    ) -> None:
        try:
            if root is None:
                root = parse_xml(raw, max_bytes=self.options.max_bytes)
            if is_atom_feed(root) and cap_namespace(root) is None:
                for entry in feed_entries(root):  # a feed saved as a file: embedded alerts only
                    if entry.embedded is not None:
                        await self.document(sink, tostring(entry.embedded), origin, entry.embedded)
                return
            alert = parse_alert(root)
        except CapError as exc:
            await self._reject(sink, raw, exc.reason, exc.detail, origin)
            return
        mapped = map_alert(alert, self.mapping)
        if mapped.skipped:
            self.skipped += 1
            log.info("%s (%s from %s): %s", origin, alert.identifier, alert.sender, mapped.skipped)
            return
        for index, result in mapped.results:
            where = f"{origin}#info[{index}]"
            if isinstance(result, MappingError):
                await self._reject(sink, raw, result.reason, result.detail, where)
            else:
                await sink.send(Item(payload=result, origin=where, position=self.state, raw=raw))

    async def _reject(self, sink: Sink, raw: bytes, reason: str, detail: str, origin: str) -> None:
        await sink.reject(raw[:MAX_DEAD_BYTES], reason, detail, origin=origin, position=self.state)
