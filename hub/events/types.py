"""Event types v1: one model per type, with exactly the data fields of the public contract.

Unknown data fields are accepted (see :func:`hub.events.fields.check_extra_fields` for why and
within which limits) so that adding an optional field is a compatible change of the contract.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import h3  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.events.fields import Id, Label, Rfc3339Time, Text, check_extra_fields
from hub.topics import DOMAINS

Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
# Upper bounds are physical plausibility limits, so a unit mix-up (Pa for MPa) is caught at
# the door instead of raising a false Extreme alert.
PartsPerMillion = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]
Megapascal = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]
PersonsPerSquareMetre = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


class _Strict(BaseModel):
    # Strict: booleans are not numbers and strings are not numbers; frozen: events are facts.
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    @model_validator(mode="after")
    def _check_extras(self) -> _Strict:
        check_extra_fields(self.__pydantic_extra__)
        return self


class Location(_Strict):
    """A WGS84 point in degrees."""

    lat: Latitude
    lon: Longitude


#: H3 resolution of the security key: cells of about 5 km² (edge ~1.2 km), so incidents a few
#: hundred metres apart usually share a partition. Near a cell border they do not, which is why
#: the co-location rules must not rely on partitioning alone.
SECURITY_KEY_RESOLUTION = 7


class EventData(_Strict):
    """Base of every v1 data model."""

    event_type: ClassVar[str]
    domain: ClassVar[str]

    def correlation_key(self) -> str:
        """The Kafka key that co-partitions what the rules correlate."""
        raise NotImplementedError

    def requires_district(self) -> bool:
        """Whether the envelope must carry ``district`` for this data to be routable."""
        return False


class SafetyData(EventData):
    """Safety events are keyed by site: the leak and inspection rules are per site."""

    domain: ClassVar[str] = "safety"
    site_id: Id
    location: Location

    def correlation_key(self) -> str:
        return self.site_id


class SecurityData(EventData):
    """Security events carry no shared id, so they are keyed by area (an H3 cell)."""

    domain: ClassVar[str] = "security"
    location: Location

    def correlation_key(self) -> str:
        cell: str = h3.latlng_to_cell(self.location.lat, self.location.lon, SECURITY_KEY_RESOLUTION)
        return cell


class ServiceData(EventData):
    """Service events are keyed by request, so an opening and its closing meet."""

    domain: ClassVar[str] = "service"
    request_id: Id
    department: Id

    def correlation_key(self) -> str:
        return self.request_id


class HydrogenReading(SafetyData):
    event_type: ClassVar[str] = "city.safety.hydrogen.reading"
    sensor_id: Id
    h2_ppm: PartsPerMillion
    pressure_mpa: Megapascal | None = None


class HazardReported(SafetyData):
    event_type: ClassVar[str] = "city.safety.hazard.reported"
    hazard: Text


class InspectionScheduled(SafetyData):
    event_type: ClassVar[str] = "city.safety.inspection.scheduled"
    enterprise_id: Id
    due_by: Rfc3339Time


class InspectionCompleted(SafetyData):
    event_type: ClassVar[str] = "city.safety.inspection.completed"
    enterprise_id: Id
    result: Literal["pass", "fail"]


class IncidentReported(SecurityData):
    event_type: ClassVar[str] = "city.security.incident.reported"
    incident_id: Id
    category: Label


class CrowdDensity(SecurityData):
    event_type: ClassVar[str] = "city.security.crowd.density"
    camera_id: Id
    persons_per_m2: PersonsPerSquareMetre


class ServiceRequestOpened(ServiceData):
    event_type: ClassVar[str] = "city.service.request.opened"
    service_code: Id
    location: Location | None = None

    def requires_district(self) -> bool:
        # Without a point the hotspot rule can only group the request by district.
        return self.location is None


class ServiceRequestClosed(ServiceData):
    event_type: ClassVar[str] = "city.service.request.closed"
    outcome: Text | None = None


EVENT_TYPES: dict[str, type[EventData]] = {
    model.event_type: model
    for model in (
        HydrogenReading,
        HazardReported,
        InspectionScheduled,
        InspectionCompleted,
        IncidentReported,
        CrowdDensity,
        ServiceRequestOpened,
        ServiceRequestClosed,
    )
}

_DOMAIN_OF = {event_type: model.domain for event_type, model in EVENT_TYPES.items()}
assert all(t.split(".")[1] == d for t, d in _DOMAIN_OF.items()), "type and domain disagree"


def domain_of(event_type: str) -> str:
    """The topic domain (safety, security, service) of a ``city.<domain>.…`` event type."""
    domain = _DOMAIN_OF.get(event_type)
    if domain is not None:
        return domain
    parts = event_type.split(".")
    if len(parts) >= 3 and parts[0] == "city" and parts[1] in DOMAINS:
        return parts[1]
    raise ValueError(
        f"event type {event_type!r} has no domain; expected city.<{'|'.join(DOMAINS)}>.…"
    )
