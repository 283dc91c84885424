"""Public contract v1 in code: the CloudEvents envelope, the event types, parsing and
encoding in both Kafka content modes, dead-letter headers, and the ingest gate every path
onto the domain topics goes through.

Pure: nothing here touches Kafka, so every rule about valid input is unit-testable.
"""

from hub.events.deadletter import deadletter_headers, fit_for_deadletter, read_deadletter
from hub.events.encode import CONTENT_TYPE_STRUCTURED, to_binary, to_structured_bytes
from hub.events.envelope import CloudEvent
from hub.events.errors import EventRejected, Reason
from hub.events.event import Event
from hub.events.fields import DEFAULT_TIME_RANGE, TimeRange, shift
from hub.events.gate import CONTENT_TYPE, Outgoing, admit, refuse
from hub.events.parse import parse_binary, parse_record, parse_structured
from hub.events.types import (
    EVENT_TYPES,
    SECURITY_KEY_RESOLUTION,
    CrowdDensity,
    EventData,
    HazardReported,
    HydrogenReading,
    IncidentReported,
    InspectionCompleted,
    InspectionScheduled,
    Location,
    ServiceRequestClosed,
    ServiceRequestOpened,
    domain_of,
)

__all__ = [
    "CONTENT_TYPE",
    "CONTENT_TYPE_STRUCTURED",
    "DEFAULT_TIME_RANGE",
    "EVENT_TYPES",
    "SECURITY_KEY_RESOLUTION",
    "CloudEvent",
    "CrowdDensity",
    "Event",
    "EventData",
    "EventRejected",
    "HazardReported",
    "HydrogenReading",
    "IncidentReported",
    "InspectionCompleted",
    "InspectionScheduled",
    "Location",
    "Outgoing",
    "Reason",
    "ServiceRequestClosed",
    "ServiceRequestOpened",
    "TimeRange",
    "admit",
    "deadletter_headers",
    "domain_of",
    "fit_for_deadletter",
    "parse_binary",
    "parse_record",
    "parse_structured",
    "read_deadletter",
    "refuse",
    "shift",
    "to_binary",
    "to_structured_bytes",
]
