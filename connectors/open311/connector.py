"""12345 hotline / 311 systems over Open311 GeoReport v2 -> service request events.

The checkpoint is a time bound: the newest record time seen on the axis the server filters by
(`requested_datetime` for the spec's `start_date`, `updated_datetime` for the `updated_after`
extension). Each poll asks from that bound minus an overlap window, so a record that became
visible late, or shares the bound's second, is not lost; what the overlap fetches again has the
same event ids and is dropped as a duplicate. The bound moves only after a whole poll (every
page) is acknowledged, because pages are not guaranteed to come in time order.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field

from connectors.open311.client import Fetched, Open311Client, PollFailed
from connectors.open311.mapping import MappingConfig, bound_time, map_request, parse_time
from connectors.sdk.base import Connector, pause
from connectors.sdk.item import Item, MappingError
from connectors.sdk.sink import Sink
from hub.errors import UserError
from hub.events.fields import format_rfc3339

log = logging.getLogger("onenet.connector.open311")

BOUND_FIELD = {"start_date": "requested_datetime", "updated_after": "updated_datetime"}
MAX_DEAD_BODY = 65536


class Open311Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        description="GeoReport v2 endpoint root; requests.json is appended "
        "(e.g. https://311.example.gov/open311/v2)."
    )
    jurisdiction_id: str | None = Field(
        None, description="jurisdiction_id, if the server wants one."
    )
    since_param: Literal["start_date", "updated_after"] = Field(
        "start_date",
        description="Query parameter for the time bound: start_date (the spec; filters "
        "requested_datetime, so closures of older requests are not seen) or updated_after "
        "(a common extension; filters updated_datetime and sees closures).",
    )
    start: str | None = Field(
        None, description="RFC 3339 lower bound for the first poll (no checkpoint yet)."
    )
    overlap: float = Field(
        300.0, ge=0, description="Seconds re-asked before the bound each poll (late records)."
    )
    status: list[Literal["open", "closed"]] = Field(
        default_factory=list, description="Only requests with this status (repeatable)."
    )
    page_size: int = Field(
        100, ge=0, le=10000, description="page_size per request; 0 if the server does not page."
    )
    max_pages: int = Field(1000, ge=1, description="Most pages fetched in one poll.")
    interval: float = Field(60.0, gt=0, description="Seconds between polls.")
    once: bool = Field(False, description="Poll once, then exit.")
    timeout: float = Field(10.0, gt=0, description="Seconds before one HTTP request times out.")
    retries: int = Field(
        3, ge=0, le=20, description="Retries of a request on timeouts, 5xx and bad bodies."
    )
    backoff: float = Field(1.0, ge=0, description="First retry delay in seconds; doubles.")
    max_response_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest accepted response body."
    )
    department: str | None = Field(
        None, description="Department for requests without agency_responsible."
    )
    department_map: list[str] = Field(
        default_factory=list,
        description="AGENCY=DEPARTMENT: rename an agency_responsible value (repeatable).",
    )
    district: str | None = Field(None, description="District code put on every event.")
    district_field: str | None = Field(
        None, description="Record field holding the district code (if --district is not set)."
    )
    assume_tz: str | None = Field(
        None, description="IANA zone for times sent without an offset (e.g. Asia/Shanghai)."
    )
    param: list[str] = Field(
        default_factory=list, description="Extra query parameter KEY=VALUE (repeatable)."
    )


def _pairs(values: list[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, right = value.partition("=")
        if not sep or not key:
            raise UserError(f"{option} {value!r} is not KEY=VALUE", hint=f"e.g. {option} DOT=roads")
        out[key] = right
    return out


class Open311Connector(Connector[Open311Options]):
    """Poll an Open311 GeoReport v2 server and publish opened/closed service request events."""

    name = "open311"
    summary = "Open311 GeoReport v2 polling -> service request opened/closed"
    Options = Open311Options

    def __init__(self, options: Open311Options) -> None:
        super().__init__(options)
        zone = None
        if options.assume_tz:
            try:
                zone = ZoneInfo(options.assume_tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise UserError(
                    f"--assume-tz {options.assume_tz!r} is not a known time zone",
                    hint="use an IANA name such as Asia/Shanghai",
                ) from None
        self.mapping = MappingConfig(
            departments=_pairs(options.department_map, "--department-map"),
            default_department=options.department,
            district=options.district,
            district_field=options.district_field,
            assume_tz=zone,
        )
        self.params = _pairs(options.param, "--param")
        if options.jurisdiction_id:
            self.params["jurisdiction_id"] = options.jurisdiction_id
        if options.status:
            self.params["status"] = ",".join(options.status)
        self.bound_field = BOUND_FIELD[options.since_param]
        self.start = (
            parse_time(options.start, "--start", zone) if options.start is not None else None
        )

    async def run(self, sink: Sink) -> None:
        bound = self._resume(sink.resume_from) or self.start
        url = self.options.base_url.rstrip("/") + "/requests.json"
        async with httpx.AsyncClient(
            timeout=self.options.timeout, headers={"Accept": "application/json"}
        ) as http:
            client = Open311Client(
                http,
                url,
                retries=self.options.retries,
                backoff=self.options.backoff,
                stopping=sink.stopping,
                max_bytes=self.options.max_response_bytes,
            )
            while not sink.stopping.is_set():
                try:
                    bound = await self.poll(client, sink, bound)
                except PollFailed as exc:
                    await self._report(sink, exc)
                    if self.options.once:
                        raise UserError(
                            f"poll of {exc.url} failed: {exc.reason}: {exc.detail}",
                            hint="the checkpoint did not move; run again once the server answers",
                        ) from None
                if self.options.once or await pause(sink.stopping, self.options.interval):
                    return

    def _resume(self, position: Any) -> datetime | None:
        if isinstance(position, dict) and isinstance(position.get("since"), str):
            return parse_time(position["since"], "checkpoint", None)
        return None

    async def poll(
        self, client: Open311Client, sink: Sink, bound: datetime | None
    ) -> datetime | None:
        """Fetch every page from `bound - overlap`, publish, then move the bound."""
        params = dict(self.params)
        if bound is not None:
            since = bound - timedelta(seconds=self.options.overlap)
            params[self.options.since_param] = format_rfc3339(since)
        fetched = await client.fetch_all(
            params, page_size=self.options.page_size, max_pages=self.options.max_pages
        )
        now = datetime.now(UTC)
        newest = bound
        for entry in fetched:
            if not isinstance(entry.record, dict):
                continue
            seen = bound_time(entry.record, self.bound_field, self.mapping)
            if seen is not None:
                # A record dated in the future (a wrong server clock) must not push the bound
                # past now, or every record until then would be skipped.
                seen = min(seen, now)
                newest = seen if newest is None else max(newest, seen)
        position = {"since": format_rfc3339(newest)} if newest is not None else None
        for n, entry in enumerate(fetched):
            last = n == len(fetched) - 1
            await self._publish(sink, entry, now, position if last else None)
        await sink.checkpoint()
        log.info("polled %s: %d records, bound now %s", client.url, len(fetched), position)
        return newest

    async def _publish(self, sink: Sink, entry: Fetched, now: datetime, position: Any) -> None:
        origin = f"{entry.url}#{entry.index}"
        raw = orjson.dumps(entry.record)
        try:
            drafts = map_request(entry.record, self.mapping, now=now)
        except MappingError as exc:
            await sink.reject(raw, exc.reason, exc.detail, origin=origin, position=position)
            return
        for i, draft in enumerate(drafts):
            where = position if i == len(drafts) - 1 else None
            await sink.send(Item(payload=draft, origin=origin, position=where, raw=raw))

    async def _report(self, sink: Sink, exc: PollFailed) -> None:
        """A body that is not a list of requests goes to the dead letters; outages only log."""
        log.error("poll of %s failed after retries: %s: %s", exc.url, exc.reason, exc.detail)
        if exc.reason == "invalid-response" and exc.body is not None:
            await sink.reject(exc.body[:MAX_DEAD_BODY], exc.reason, exc.detail, origin=exc.url)
