"""The `replay` connector: a JSONL or CSV export (or standard input) replayed as events.

Three ways to turn records into events, checked in this order: a mapping function
(`--mapping module:function`), a column mapping for CSV without Python (`--type`, `--column`,
`--set`), or none, for JSONL lines that already are CloudEvents (the runner validates them).
The checkpoint is the line number, so a restarted replay of the same file resumes after the
last acknowledged line.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, cast

from connectors.replay.columns import ColumnMapping
from connectors.replay.feed import threaded
from connectors.replay.options import ReaderOptions, ReplayOptions
from connectors.replay.pace import Pacer, event_time
from connectors.replay.source import (
    STDIN,
    RawRecord,
    fingerprint,
    open_binary,
    read_csv,
    read_jsonl,
    resume_line,
)
from connectors.sdk.base import Connector
from connectors.sdk.item import Draft, Item, MappingError
from connectors.sdk.mapping import (
    MappingFunction,
    SafeMapping,
    describe,
    json_object,
    load_mapping,
)
from connectors.sdk.sink import Sink

log = logging.getLogger("onenet.connector.replay")

Mapper = Callable[[dict[str, Any]], Draft | Mapping[str, Any] | None]


class ReplayConnector(Connector[ReaderOptions]):
    """Replay a JSONL or CSV file as events, resuming after the last published line.

    JSONL lines that are CloudEvents go through as they are. A CSV export is mapped with
    --type and --column FIELD=COLUMN (numbers converted as the event type expects), or any
    file with --mapping module:function. Rejected lines go to the dead-letter topic with
    their reason and origin FILE:LINE.

    Example (a CSV export of hydrogen readings, no Python needed):

    \b
      onenet connector run replay --file readings.csv \\
        --type city.safety.hydrogen.reading --timezone +08:00 \\
        --column time=timestamp --column id=reading_no --column data.h2_ppm=ppm \\
        --column data.site_id=site --column data.sensor_id=sensor \\
        --column data.location.lat=lat --column data.location.lon=lon --set district=310115
    """

    name = "replay"
    summary = "Replay a JSONL or CSV file (CloudEvents, a column mapping, or a mapping function)."
    Options = ReplayOptions
    #: fixed by `connector_from_mapping`; takes precedence over the options
    mapping_function: ClassVar[MappingFunction | None] = None

    @classmethod
    def for_mapping(cls, name: str, func: Any) -> type[Connector[Any]]:
        return connector_from_mapping(name, func)

    async def run(self, sink: Sink) -> None:
        options = self.options
        mapper = self._mapper()
        columns: ColumnMapping | None = None
        convert: Mapper | None
        if isinstance(mapper, ColumnMapping):
            columns, convert = mapper, mapper.to_draft
        else:
            convert = mapper
        identity = fingerprint(options.file)
        after = resume_line(sink.resume_from, identity)
        label = "stdin" if options.file == STDIN else options.file
        if after:
            log.info("resuming %s after line %d", label, after)
        stream = open_binary(options.file)
        records = (
            read_csv(
                stream,
                after=after,
                encoding=options.encoding,
                delimiter=options.delimiter,
                on_header=columns.check_header if columns else lambda header: None,
            )
            if options.format == "csv"
            else read_jsonl(stream, after=after)
        )
        pacer = (
            Pacer(speed=options.speed, max_wait=options.max_wait, stopping=sink.stopping)
            if options.pace == "original"
            else None
        )
        count = skipped = 0
        feed = threaded(records, chunk=1 if options.file == STDIN else 256)
        async with contextlib.aclosing(feed):
            async for record in feed:
                if sink.stopping.is_set():
                    break
                count += 1
                origin = f"{label}:{record.line}"
                position = {**identity, "line": record.end} if identity else None
                try:
                    item = self._item(record, convert, origin, position)
                except MappingError as exc:
                    await sink.reject(
                        record.raw, exc.reason, exc.detail, origin=origin, position=position
                    )
                else:
                    if item is None:
                        skipped += 1
                    else:
                        if pacer is not None:
                            await pacer.wait_for(event_time(item.payload))
                            if sink.stopping.is_set():
                                break
                        await sink.submit(item)
                if options.limit is not None and count >= options.limit:
                    log.info("stopping after --limit %d records", options.limit)
                    break
        log.info("read %d records from %s (%d skipped by the mapping)", count, label, skipped)

    def _mapper(self) -> Mapper | ColumnMapping | None:
        fixed = type(self).mapping_function
        if fixed is not None:
            return SafeMapping[dict[str, Any]](fixed)
        options = self.options
        if isinstance(options, ReplayOptions):
            if options.mapping:
                return SafeMapping[dict[str, Any]](load_mapping(options.mapping))
            if options.uses_columns:
                return options.column_mapping()
        return None

    @staticmethod
    def _item(
        record: RawRecord,
        convert: Mapper | None,
        origin: str,
        position: Any,
    ) -> Item | None:
        """The record as an Item, None to skip it; raises MappingError to dead-letter it."""
        if record.problem is not None:
            raise MappingError(record.problem[1], reason=record.problem[0])
        if convert is None:  # a JSONL CloudEvent: the runner validates the bytes as they are
            return Item(payload=record.raw, origin=origin, position=position, raw=record.raw)
        value: Any = record.row
        if value is None:
            value = json_object(record.raw)
        mapped = convert(value)
        if mapped is None:
            return None
        return Item(payload=mapped, origin=origin, position=position, raw=record.raw)


def connector_from_mapping(
    name: str, func: Callable[[dict[str, Any]], Draft | None]
) -> type[Connector[Any]]:
    """A replay connector called `name` whose records always go through `func`.

    For an entry point that names a mapping function: the department writes only
    `record -> Draft | None`, and `onenet connector run NAME --file export.jsonl` works.
    """
    label = describe(func)
    doc = (
        f"Replay a JSONL or CSV file through the mapping {label}, resuming after the last "
        "published line. Rejected records go to the dead-letter topic with origin FILE:LINE."
    )
    namespace: dict[str, Any] = {
        "name": name,
        "summary": f"Replay files through {label}.",
        "Options": ReaderOptions,
        "mapping_function": staticmethod(func),
        "__doc__": doc,
        "__module__": __name__,
    }
    cls = type(f"MappedReplay_{name.replace('-', '_')}", (ReplayConnector,), namespace)
    return cast(type[Connector[Any]], cls)
