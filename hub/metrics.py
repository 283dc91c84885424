"""One registry of the hub's metric definitions, named per Prometheus conventions.

Labels are bounded sets (topic, event type, reason, rule, severity, kind): never a site,
sensor, or event id, so cardinality cannot grow with the city.
"""

from __future__ import annotations

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.registry import Collector

# A `_created` series per counter and histogram doubles what Prometheus stores and nothing
# here reads it; one call turns it off for every metric of the process.
disable_created_metrics()  # type: ignore[no-untyped-call]

EVENTS_CONSUMED = Counter(
    "onenet_events_consumed_total", "Events read by workers.", ["topic", "type"]
)
EVENTS_REJECTED = Counter(
    "onenet_events_rejected_total", "Events sent to the dead-letter topic.", ["stage", "reason"]
)
EVENTS_PUBLISHED = Counter(
    "onenet_events_published_total", "Events published onto domain topics.", ["topic"]
)
PROCESSING_ERRORS = Counter(
    "onenet_processing_errors_total",
    "Records whose processing raised; each is dead-lettered as processing-error.",
    ["rule", "exception"],
)
DEADLETTER_SEND_ERRORS = Counter(
    "onenet_deadletter_send_errors_total",
    "Dead letters that could not be handed to the producer (logged with the reason).",
    ["stage"],
)
RULE_EVENTS = Counter(
    "onenet_rule_events_total",
    "Events offered to a rule, by what the rule did with them.",
    ["rule", "outcome"],
)
ALERT_CHANGES = Counter(
    "onenet_alert_changes_total", "Alert state changes emitted.", ["rule", "severity", "kind"]
)
EVENT_TO_ALERT = Histogram(
    "onenet_event_to_alert_seconds",
    "Wall-clock delay from the newest evidence's event time to the alert change.",
    ["rule"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
INGEST_TO_ALERT = Histogram(
    "onenet_ingest_to_alert_seconds",
    "Wall-clock delay from the evidence reaching Kafka (record timestamp) to the alert change.",
    ["rule"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
PROCESSING_SECONDS = Histogram(
    "onenet_event_processing_seconds",
    "Worker time spent on one event.",
    buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
)
WATERMARK = Gauge(
    "onenet_watermark_timestamp_seconds", "Current event-time watermark of this worker."
)
RULE_KEYS = Gauge("onenet_rule_state_keys", "Keys held in a rule's state table.", ["rule"])

CONNECTOR_PUBLISHED = Counter(
    "onenet_connector_events_published_total",
    "Events a connector published (broker acknowledged).",
    ["connector"],
)
CONNECTOR_REJECTED = Counter(
    "onenet_connector_events_rejected_total",
    "Records a connector dead-lettered.",
    ["connector", "reason"],
)
CONNECTOR_DUPLICATES = Counter(
    "onenet_connector_duplicates_total",
    "Re-sent (source, id) records a connector dropped as already published.",
    ["connector"],
)
CONNECTOR_SEND_ERRORS = Counter(
    "onenet_connector_send_errors_total",
    "Records the broker did not acknowledge after all retries.",
    ["connector"],
)
CONNECTOR_SEND_SECONDS = Histogram(
    "onenet_connector_send_seconds",
    "From handing a record to the producer to the broker's acknowledgement.",
    ["connector"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONNECTOR_LAST_EVENT = Gauge(
    "onenet_connector_last_event_timestamp_seconds",
    "Event time of the newest event a connector published.",
    ["connector"],
)
CONNECTOR_LAST_SEND = Gauge(
    "onenet_connector_last_publish_timestamp_seconds",
    "Wall-clock time of the connector's newest acknowledged publish.",
    ["connector"],
)

# --- operations: lag, readiness, build, the control view's HTTP and SSE ------------------------
# Defined here so dashboards and rules have one catalogue to check against (docs/operations.md).

CONSUMER_LAG = Gauge(
    "onenet_consumer_lag_messages",
    "Messages the worker group has not committed yet, per input topic partition.",
    ["topic", "partition"],
)
PROCESS_READY = Gauge(
    "onenet_process_ready", "1 when this process reports ready (/readyz answers 200), else 0."
)
BUILD_INFO = Gauge(
    "onenet_build_info", "Always 1; the label carries the running hub version.", ["version"]
)
SSE_CLIENTS = Gauge("onenet_sse_clients", "Control-view Server-Sent Events streams open now.")
HTTP_REQUESTS = Counter(
    "onenet_http_requests_total",
    "Control-view HTTP requests; handler is the route template, never the raw path.",
    ["handler", "method", "code"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "onenet_http_request_duration_seconds",
    "Control-view time to answer one HTTP request (to the first byte for SSE).",
    ["handler"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PARTITION_STALLED = Gauge(
    "onenet_partition_stalled",
    "1 while an assigned partition is paused, or has lag and its processing does not move.",
    ["topic", "partition"],
)
PARTITION_LAST_PROGRESS = Gauge(
    "onenet_partition_last_progress_timestamp_seconds",
    "Wall-clock time this worker's processed offset of a partition last moved (or was at its end).",
    ["topic", "partition"],
)
PARTITION_LAG = Gauge(
    "onenet_partition_lag_messages",
    "Records of an assigned partition this worker has not processed and committed yet.",
    ["topic", "partition"],
)


# --- which process exports what --------------------------------------------------------------
# Every definition lives above, but each process's /metrics shows only its own families: a
# connector's scrape with a worker's zero-valued rule counters would invite dashboards and
# alerts to read them from the wrong job.

COMMON: tuple[Collector, ...] = (PROCESS_READY, BUILD_INFO)
ROLES: dict[str, tuple[Collector, ...]] = {
    "worker": (
        EVENTS_CONSUMED,
        EVENTS_REJECTED,
        PROCESSING_ERRORS,
        DEADLETTER_SEND_ERRORS,
        RULE_EVENTS,
        ALERT_CHANGES,
        EVENT_TO_ALERT,
        INGEST_TO_ALERT,
        PROCESSING_SECONDS,
        WATERMARK,
        RULE_KEYS,
        CONSUMER_LAG,
        PARTITION_STALLED,
        PARTITION_LAST_PROGRESS,
        PARTITION_LAG,
    ),
    "connector": (
        CONNECTOR_PUBLISHED,
        CONNECTOR_REJECTED,
        CONNECTOR_DUPLICATES,
        CONNECTOR_SEND_ERRORS,
        CONNECTOR_SEND_SECONDS,
        CONNECTOR_LAST_EVENT,
        CONNECTOR_LAST_SEND,
    ),
    "view": (SSE_CLIENTS, HTTP_REQUESTS, HTTP_REQUEST_SECONDS),
}


def process_registry(role: str) -> CollectorRegistry:
    """A registry of the families process `role` (worker, connector, view) exports.

    The same metric objects as the default registry (code keeps updating `metrics.X`), plus
    the standard process, platform and garbage-collector collectors.
    """
    if role not in ROLES:
        raise ValueError(f"unknown process role {role!r} (known: {', '.join(ROLES)})")
    registry = CollectorRegistry(auto_describe=True)
    for collector in (*COMMON, *ROLES[role], PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry
