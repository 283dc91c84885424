"""The correlation worker: a Faust app whose one agent feeds facts to the rule engines.

Delivery is at-least-once (faust-streaming's exactly-once mode has open duplicate bugs):
alert ids and change ids are deterministic, so a change re-emitted after a crash is the same
record. Rule state lives in one changelogged table per rule, keyed by the rule's key; the
agent runs with concurrency 1 so offsets commit in order.

Routing: an event whose Kafka key is the rule's key is handled where it arrives; otherwise it
is forwarded, keyed by the rule's key, to the internal topic `<app id>-rekey`, which the same
agent reads. All topics the agent reads have the same partition count, so a key always lands
on the same partition number, hence the same worker and the same table partition.

Time: Faust allows table writes only in an event's context, so a timer finds the keys whose
state can advance and sends a tick, keyed like the state, to `<app id>-ticks`.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
from aiokafka.errors import IllegalStateError, KafkaError

from hub import metrics
from hub.alerts.cloudevent import encode
from hub.alerts.model import AlertChange
from hub.bootstrap import resolve_bootstrap
from hub.correlate.correlator import Correlator
from hub.correlate.engine import Route
from hub.correlate.fact import Fact
from hub.correlate.pack import load_pack
from hub.correlate.spec import RulePack
from hub.correlate.watermark import PartitionWatermarks, ShuffleWatermarks
from hub.events import EventRejected, shift
from hub.kafka_security import faust_credentials
from hub.settings import Settings
from hub.stream.consumer import HubApp
from hub.stream.facts import fact_of_record
from hub.stream.lifecycle import add_lifecycle
from hub.stream.records import header_list, send_dead_letter
from hub.stream.recovery import OrderedTableManager
from hub.stream.routing import direct_rules
from hub.stream.store import TableStore
from hub.stream.ticks import PendingTicks
from hub.topics import DOMAINS, Topics

log = logging.getLogger("onenet.worker")

RULE_HEADER = "onenet_rule"
HOME_HEADER = "onenet_home"
ORIGIN_HEADER = "onenet_origin"
ORIGIN_WM_HEADER = "onenet_origin_watermark"
INGESTED_HEADER = "onenet_ingested"  # the original record's timestamp, kept across re-keying
KIND_HEADER = "onenet_kind"  # "watermark" on the re-keying topic's broadcast records


def internal_topics(app_id: str) -> tuple[str, str]:
    """(re-keying topic, ticks topic) of a worker group."""
    return f"{app_id}-rekey", f"{app_id}-ticks"


def _header(headers: list[tuple[str, bytes]], name: str) -> str | None:
    for k, v in headers:
        if k == name:
            return v.decode("utf-8", "replace")
    return None


def create_app(settings: Settings, *, pack: RulePack | None = None) -> Any:
    """Build the worker app; `Any` because Faust's App is only partly typed."""
    bootstrap = resolve_bootstrap(settings)
    pack = pack or load_pack(settings.rules_path)
    topics = Topics(settings.topic_prefix)
    datadir = settings.worker_data_dir or settings.state_dir / "worker-data"
    datadir.parent.mkdir(parents=True, exist_ok=True)  # Faust creates only the last folder
    app = HubApp(  # faust.App with a consumer that cannot drop records (consumer.py)
        settings.app_id,
        broker=[f"kafka://{b.strip()}" for b in bootstrap.split(",") if b.strip()],
        store=settings.worker_store,
        datadir=str(datadir),
        processing_guarantee="at_least_once",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        # Faust's own web server exposes table contents; metrics are served separately.
        web_enabled=False,
        table_standby_replicas=0,
        broker_session_timeout=settings.worker_session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.worker_session_timeout_s / 3),
        broker_credentials=faust_credentials(settings),
        # Resumes stream partitions only after the buffers are cleared (hub/stream/recovery.py).
        TableManager=OrderedTableManager,
    )
    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    rekey_name, ticks_name = internal_topics(settings.app_id)
    sources = [topics.events(d) for d in DOMAINS]
    channel = app.topic(*sources, rekey_name, ticks_name, partitions=settings.partitions, **raw)
    rekey = app.topic(rekey_name, partitions=settings.partitions, internal=True, **raw)
    ticks = app.topic(ticks_name, partitions=settings.partitions, internal=True, **raw)
    alerts = app.topic(topics.alerts, **raw)
    deadletter = app.topic(topics.deadletter, **raw)
    tables = {
        r.name: app.Table(
            f"rule-{r.name}",
            default=None,
            partitions=settings.partitions,
            # JSON both ways, so keys are str again after a restart recovers the changelog.
            schema=faust.Schema(key_type=str, key_serializer="json", value_serializer="json"),
        )
        for r in pack.rules
        if r.enabled
    }
    store = TableStore(tables)
    correlator = Correlator(pack, store)
    lateness = (
        settings.allowed_lateness_s
        if settings.allowed_lateness_s is not None
        else pack.lateness.total_seconds()
    )
    # Per partition number: has this worker read and processed everything there is? Only then
    # may an idle partition's watermark follow the wall clock (see hub/correlate/watermark.py).
    caught_up: dict[tuple[str, int], bool] = {}
    processed: dict[tuple[str, int], int] = {}
    watched = {*sources, rekey_name}
    watermarks = PartitionWatermarks(
        timedelta(seconds=lateness),
        caught_up=lambda tp: caught_up.get(tp, False),  # type: ignore[call-overload]
    )
    shuffled = ShuffleWatermarks(
        timedelta(seconds=lateness),
        expected={f"{t}:{p}" for t in sources for p in range(settings.partitions)},
        caught_up=lambda: bool(caught_up) and all(caught_up.values()),
    )
    direct = direct_rules(pack)
    time_range = settings.time_range

    def watermark_for(rule: str, partition: int) -> datetime | None:
        if rule in direct:
            return watermarks[(topics.events(direct[rule]), partition)].current()
        return shuffled.current(partition)

    def slowest_for(rule: str) -> datetime | None:
        if rule in direct:
            topic = topics.events(direct[rule])
            return watermarks.slowest(lambda tp: tp[0] == topic)  # type: ignore[index]
        return shuffled.slowest()

    pending_ticks = PendingTicks()

    async def emit(
        changes: list[AlertChange],
        at: datetime,
        *,
        by_event: bool = True,
        ingested: float | None = None,
    ) -> None:
        for change in changes:
            alert = change.alert
            await alerts.send(key=alert.alert_id.encode(), value=encode(change, time=at))
            metrics.ALERT_CHANGES.labels(alert.rule, alert.severity.value, change.kind).inc()
            if by_event:
                # Only changes an event caused: those the clock causes (resolutions, deadlines)
                # come a window or a deadline later by design, not by slowness.
                lag = (datetime.now(UTC) - alert.last_event_time).total_seconds()
                metrics.EVENT_TO_ALERT.labels(alert.rule).observe(max(lag, 0.0))
                if ingested:
                    since = time.time() - ingested
                    metrics.INGEST_TO_ALERT.labels(alert.rule).observe(max(since, 0.0))
            log.info(
                "alert %s",
                change.kind,
                extra={
                    "alert_id": alert.alert_id,
                    "rule": alert.rule,
                    "severity": alert.severity.value,
                    "evidence": alert.evidence[-5:],
                },
            )

    async def dead_letter(record: Any, reason: str, detail: str, rule: str | None = None) -> None:
        metrics.EVENTS_REJECTED.labels("worker", reason).inc()
        await send_dead_letter(deadletter, record, reason, detail, stage="worker", rule=rule)

    async def processing_failed(record: Any, exc: Exception, rule: str | None = None) -> None:
        """Dead-letter a record whose processing raised: the same bytes would raise again on
        every retry, and an agent that stops stops every rule."""
        name = type(exc).__name__
        metrics.PROCESSING_ERRORS.labels(rule or "", name).inc()
        msg = record.message
        log.error(
            "processing failed for %s[%s]@%s%s",
            msg.topic,
            msg.partition,
            msg.offset,
            f" (rule {rule})" if rule else "",
            exc_info=exc,
        )
        await dead_letter(record, "processing-error", f"{name}: {exc}", rule)

    async def apply(
        record: Any,
        rule: str,
        fact: Fact,
        route: Route,
        wm: datetime,
        ingested: float | None = None,
    ) -> None:
        outcome, changes = correlator.observe(rule, fact, route, wm)
        metrics.RULE_EVENTS.labels(rule, outcome).inc()
        if outcome == "late" and route.home:
            # Once per rule that would have used it; copies for neighbouring cells stay quiet.
            await dead_letter(
                record,
                "late-event",
                f"rule {rule}: event time {fact.time.isoformat()} is before the watermark "
                f"{wm.isoformat()} (allowed lateness {lateness:g} s)",
                rule,
            )
        await emit(changes, fact.time, ingested=ingested or record.message.timestamp)

    async def on_source(record: Any) -> None:
        msg = record.message
        try:
            fact = fact_of_record(
                record.value,
                header_list(msg.headers),
                max_bytes=settings.max_event_bytes,
                time_range=time_range,
            )
        except EventRejected as exc:
            await dead_letter(record, exc.reason, exc.detail)
            return
        metrics.EVENTS_CONSUMED.labels(msg.topic, fact.type).inc()
        source_wm = watermarks[(msg.topic, msg.partition)]
        source_wm.observe(fact.time)
        wm = source_wm.current()
        assert wm is not None  # the fact's time was just observed
        here = record.key.decode("utf-8", "replace") if record.key is not None else None
        origin = [
            (ORIGIN_HEADER, f"{msg.topic}:{msg.partition}".encode()),
            (ORIGIN_WM_HEADER, wm.isoformat().encode()),
            (INGESTED_HEADER, repr(msg.timestamp).encode()),
        ]
        for rule, route in correlator.routes(fact):
            try:
                await route_one(record, rule, fact, route, wm, here, origin)
            except KafkaError:
                raise  # the broker, not the record: fail as before, redelivery will retry it
            except Exception as exc:  # one rule failing must not keep the others from the event
                await processing_failed(record, exc, rule)

    async def route_one(
        record: Any,
        rule: str,
        fact: Fact,
        route: Route,
        wm: datetime,
        here: str | None,
        origin: list[tuple[str, bytes]],
    ) -> None:
        if rule in direct and route.key == here:
            await apply(record, rule, fact, route, wm)
            return
        await rekey.send(
            key=route.key.encode(),
            value=record.value,
            headers=[
                *header_list(record.message.headers),
                *origin,
                (RULE_HEADER, rule.encode()),
                (HOME_HEADER, b"1" if route.home else b"0"),
            ],
        )

    async def on_rekeyed(record: Any) -> None:
        headers = header_list(record.message.headers)
        if _header(headers, KIND_HEADER) == "watermark":
            origin, origin_wm = _header(headers, ORIGIN_HEADER), _header(headers, ORIGIN_WM_HEADER)
            if origin and origin_wm:
                shuffled.observe(
                    record.message.partition, origin, datetime.fromisoformat(origin_wm)
                )
            return
        rule = _header(headers, RULE_HEADER)
        if rule not in correlator.engines:
            return  # a rule that was removed since the record was forwarded
        try:
            fact = fact_of_record(
                record.value, headers, max_bytes=settings.max_event_bytes, time_range=time_range
            )
        except EventRejected as exc:  # only if someone else writes to the internal topic
            await dead_letter(record, exc.reason, exc.detail, rule)
            return
        partition = record.message.partition
        origin, origin_wm = _header(headers, ORIGIN_HEADER), _header(headers, ORIGIN_WM_HEADER)
        at_origin = datetime.fromisoformat(origin_wm) if origin_wm else None
        if origin and at_origin:
            shuffled.observe(partition, origin, at_origin)
        # Until every origin has spoken, the copy's own origin is the best judge of lateness.
        wm = (
            shuffled.current(partition)
            or at_origin
            or shift(fact.time, -timedelta(seconds=lateness))
        )
        route = Route(record.key.decode(), home=_header(headers, HOME_HEADER) != "0")
        ingested = _header(headers, INGESTED_HEADER)
        await apply(record, rule, fact, route, wm, float(ingested) if ingested else None)

    async def on_tick(record: Any) -> None:
        rule = _header(header_list(record.message.headers), RULE_HEADER)
        key = record.key.decode()
        pending_ticks.answered(rule or "", key)
        if rule not in correlator.engines:
            return
        wm = watermark_for(rule, record.message.partition)
        if wm is not None:
            await emit(correlator.advance(rule, key, wm), wm, by_event=False)

    def rule_of(record: Any) -> str | None:
        """The rule an internal record (a copy or a tick) is for; None for source events."""
        if record.message.topic not in (rekey_name, ticks_name):
            return None
        return _header(header_list(record.message.headers), RULE_HEADER)

    @app.agent(channel, concurrency=1)
    async def correlate(stream: Any) -> None:
        async for record in stream.events():
            started = time.perf_counter()
            topic = record.message.topic
            processed[(topic, record.message.partition)] = record.message.offset
            try:
                if topic == ticks_name:
                    await on_tick(record)
                elif topic == rekey_name:
                    await on_rekeyed(record)
                else:
                    await on_source(record)
            except KafkaError:
                raise
            except Exception as exc:
                await processing_failed(record, exc, rule_of(record))
            metrics.PROCESSING_SECONDS.observe(time.perf_counter() - started)

    async def request_ticks() -> None:
        wm = watermarks.slowest()
        if wm is not None:
            metrics.WATERMARK.set(wm.timestamp())
        for rule in correlator.engines:
            metrics.RULE_KEYS.labels(rule).set(store.size(rule))
        for rule, key in correlator.due(slowest_for):
            if pending_ticks.should_send(rule, key):
                await ticks.send(
                    key=key.encode(), value=b"", headers=[(RULE_HEADER, rule.encode())]
                )

    async def track_progress() -> None:
        """Which partitions are caught up: position at the high-water mark, all of it processed."""
        consumer = app.consumer
        by_partition: dict[tuple[str, int], bool] = {}
        for tp in consumer.assignment():
            if tp.topic not in watched:
                continue
            try:
                highwater = consumer.highwater(tp)
                position = await consumer.position(tp)
            except (AssertionError, IllegalStateError):  # revoked by a rebalance meanwhile
                continue
            last = processed.get((tp.topic, tp.partition))
            done = (
                highwater is not None
                and position is not None
                and position >= highwater
                and (last is None or last + 1 >= position)
            )
            by_partition[(tp.topic, tp.partition)] = done
        caught_up.clear()
        caught_up.update(by_partition)

    async def broadcast_watermarks() -> None:
        """Tell every re-keyed partition how far each of this worker's origins has come, so
        their watermarks advance even where no copy happened to go (Flink's broadcast)."""
        for tp in app.consumer.assignment():
            if tp.topic not in sources:
                continue
            wm = watermarks[(tp.topic, tp.partition)].current()
            if wm is None:
                continue
            headers = [
                (KIND_HEADER, b"watermark"),
                (ORIGIN_HEADER, f"{tp.topic}:{tp.partition}".encode()),
                (ORIGIN_WM_HEADER, wm.isoformat().encode()),
            ]
            for q in range(settings.partitions):
                await rekey.send(key=None, value=b"", partition=q, headers=headers)

    async def reindex_after_recovery(sender: Any, /, *args: Any, signal: Any, **kw: Any) -> None:
        """Assigned partitions' states came back from their changelogs: index their wakes, and
        ask again for every due key, since ticks in flight may have gone to another worker."""
        pending_ticks.forget()
        correlator.reindex()

    async def keep_assigned(sender: Any, /, *args: Any, signal: Any, **kw: Any) -> None:
        """Only the partitions this worker now reads may hold its time back: the watermark of
        one handed to another worker stops moving here, and as the slowest it kept every
        deadline of the kept partitions from coming due (a missed `inspection-overdue`)."""
        assigned = args[0]  # the whole new assignment, as Faust sends it
        watermarks.retain((tp.topic, tp.partition) for tp in assigned)
        shuffled.retain(tp.partition for tp in assigned if tp.topic == rekey_name)

    app.on_partitions_assigned.connect(keep_assigned)
    app.on_rebalance_complete.connect(reindex_after_recovery)
    app.timer(interval=2.0)(track_progress)
    app.timer(interval=2.0)(broadcast_watermarks)
    app.timer(interval=2.0)(request_ticks)
    add_lifecycle(app, settings, raw)
    return app
