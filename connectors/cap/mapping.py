"""A CAP alert -> hazard or incident drafts, one per `<info>` in the chosen language.

Multi-language alerts repeat the same warning in several `<info>` blocks; publishing each would
count one hazard twice, so only the preferred language (else the first info's) is used.
`Cancel`, `Ack` and `Error` messages and non-`Actual` statuses publish nothing: contract v1 has
no event that retracts a report, and exercises must not raise real alerts.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from connectors.cap.parse import Alert, Area, Info
from connectors.sdk.item import Draft, MappingError

HAZARD = "city.safety.hazard.reported"
INCIDENT = "city.security.incident.reported"
INCIDENT_CATEGORIES = {"security", "rescue"}
PUBLISHED_TYPES = {"alert", "update"}
MAX_EXTRA_TEXT = 256
MAX_ID = 128


@dataclass(frozen=True)
class CapMappingConfig:
    languages: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ("Actual",)
    site_param: str = "site_id"
    district: str | None = None


@dataclass(frozen=True)
class Mapped:
    """Per selected info: a draft, or the reason it cannot be one; `skipped` says why none."""

    results: list[tuple[int, Draft | MappingError]]
    skipped: str = ""


def event_id(alert: Alert, info: Info) -> str:
    key = f"{alert.sender}\x1f{alert.identifier}\x1f{info.index}"
    return "cap-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def select_infos(infos: Sequence[Info], languages: Sequence[str]) -> list[Info]:
    if not infos:
        return []
    present = {i.language.lower() for i in infos}
    chosen = next(
        (
            lang
            for want in languages
            for lang in sorted(present)
            if lang == want.lower() or lang.startswith(want.lower() + "-")
        ),
        infos[0].language.lower(),
    )
    return [i for i in infos if i.language.lower() == chosen]


def _pairs(text: str, what: str) -> list[tuple[float, float]]:
    points = []
    for pair in text.split():
        lat, sep, lon = pair.partition(",")
        try:
            point = (float(lat), float(lon))
        except ValueError:
            raise MappingError(
                f"{what} point {pair[:40]!r} is not 'lat,lon'", reason="invalid-area"
            ) from None
        if not sep or not all(math.isfinite(v) for v in point):
            raise MappingError(
                f"{what} point {pair[:40]!r} is not 'lat,lon'", reason="invalid-area"
            )
        points.append(point)
    return points


def polygon_centroid(text: str) -> tuple[float, float]:
    """Area-weighted centroid in the lat/lon plane: good enough for a city-sized polygon
    (the vertex mean would drift towards densely digitised edges)."""
    points = _pairs(text, "polygon")
    if len(points) > 1 and points[0] == points[-1]:
        points = points[:-1]
    if len(points) < 3:
        raise MappingError(
            f"polygon has {len(points)} distinct points; CAP needs at least 3",
            reason="invalid-area",
        )
    twice_area = cx = cy = 0.0
    for (lat1, lon1), (lat2, lon2) in zip(points, points[1:] + points[:1], strict=True):
        cross = lon1 * lat2 - lon2 * lat1
        twice_area += cross
        cx += (lon1 + lon2) * cross
        cy += (lat1 + lat2) * cross
    if abs(twice_area) < 1e-12:  # degenerate (all points on a line): fall back to the mean
        return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
    return (cy / (3 * twice_area), cx / (3 * twice_area))


def circle_centre(text: str) -> tuple[float, float]:
    centre, _, _radius = text.strip().partition(" ")
    points = _pairs(centre, "circle")
    if len(points) != 1:
        raise MappingError(f"circle {text[:40]!r} is not 'lat,lon radius'", reason="invalid-area")
    return points[0]


def location(areas: Sequence[Area]) -> tuple[float, float]:
    """The first polygon or circle, in document order of the areas."""
    for area in areas:
        if area.polygons:
            return polygon_centroid(area.polygons[0])
        if area.circles:
            return circle_centre(area.circles[0])
    raise MappingError(
        "no <area> with a <polygon> or <circle>: the hub needs a point (geocodes alone are "
        "not resolved)",
        reason="no-location",
    )


def _short(text: str) -> str:
    return text[:MAX_EXTRA_TEXT]


def _extras(alert: Alert, info: Info, areas: Sequence[Area]) -> dict[str, str]:
    """CAP attributes kept as scalar extra fields (contract v1 admits up to 16)."""
    extras = {
        "cap_sender": alert.sender,
        "cap_identifier": alert.identifier,
        "cap_msg_type": alert.msg_type,
        "cap_severity": info.severity,
        "cap_urgency": info.urgency,
        "cap_certainty": info.certainty,
        "cap_expires": info.expires,
        "cap_headline": info.headline,
        "cap_area": areas[0].description if areas else "",
        "cap_references": alert.references,
    }
    return {name: _short(value) for name, value in extras.items() if value}


def _site_id(alert: Alert, info: Info, site_param: str) -> str:
    site = info.parameters.get(site_param, "").strip()
    if site:
        return site
    plain = f"cap:{alert.identifier}"
    return plain if len(plain) <= MAX_ID else "cap:" + hashlib.sha256(plain.encode()).hexdigest()


def map_info(alert: Alert, info: Info, cfg: CapMappingConfig, *, several: bool) -> Draft:
    if not info.event:
        raise MappingError("<info> has no <event> text to report", reason="invalid-cap")
    lat, lon = location(info.areas)
    data: dict[str, object] = {"location": {"lat": lat, "lon": lon}}
    categories = {c.lower() for c in info.categories}
    if categories & INCIDENT_CATEGORIES and not categories - INCIDENT_CATEGORIES:
        kind = INCIDENT
        incident = f"{alert.identifier}#{info.index}" if several else alert.identifier
        if len(incident) > MAX_ID:
            incident = "cap-" + hashlib.sha256(incident.encode()).hexdigest()[:40]
        data.update(incident_id=incident, category=info.event[:128])
    else:
        kind = HAZARD
        data.update(site_id=_site_id(alert, info, cfg.site_param), hazard=info.event[:1000])
    data.update(_extras(alert, info, info.areas))
    return Draft(
        type=kind,
        data=data,
        time=alert.sent,  # when it was reported: a forecast's future onset would race the watermark
        id=event_id(alert, info),
        district=cfg.district,
        subject=alert.identifier[:MAX_ID],
    )


def map_alert(alert: Alert, cfg: CapMappingConfig) -> Mapped:
    if alert.status not in cfg.statuses:
        return Mapped([], f"status {alert.status!r} is not one of {', '.join(cfg.statuses)}")
    if alert.msg_type.lower() not in PUBLISHED_TYPES:
        return Mapped([], f"msgType {alert.msg_type!r} publishes nothing in contract v1")
    infos = select_infos(alert.infos, cfg.languages)
    if not infos:
        error = MappingError("<alert> has no <info>, so no area to place it", reason="no-location")
        return Mapped([(0, error)])
    results: list[tuple[int, Draft | MappingError]] = []
    for info in infos:
        try:
            results.append((info.index, map_info(alert, info, cfg, several=len(infos) > 1)))
        except MappingError as exc:
            results.append((info.index, exc))
    return Mapped(results)
