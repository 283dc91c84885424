"""A small, lively city for the browser tests and the documentation's screenshots: events
spread over Dalian's central districts (the map's background), alerts of every rule with
their evidence, and hotline requests that give the red/black list something to rank.
Districts are looked up in the boundary file the view ships."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from hub.alerts.model import Alert, GeoPoint, Severity
from tests.view.support import Hub, service_event

CENTRE = (38.915, 121.62)
BOUNDARIES = Path(__file__).resolve().parents[2] / "hub/view/static/map/districts.geojson"


@cache
def _districts() -> list[tuple[str, list[list[list[float]]]]]:
    doc = json.loads(BOUNDARIES.read_text(encoding="utf-8"))
    return [
        (f["properties"]["code"], poly)
        for f in doc["features"]
        for poly in f["geometry"]["coordinates"]
    ]


def _inside(lat: float, lon: float, ring: list[list[float]]) -> bool:
    hit = False
    for (x1, y1), (x2, y2) in zip(ring, ring[-1:] + ring[:-1], strict=True):
        if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            hit = not hit
    return hit


def district_at(lat: float, lon: float) -> str | None:
    """The district code at a point, or None at sea."""
    for code, (outer, *holes) in _districts():
        if _inside(lat, lon, outer) and not any(_inside(lat, lon, h) for h in holes):
            return code
    return None


def _t(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _event(
    eid: str, etype: str, at: datetime, lat: float, lon: float, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": eid,
        "source": f"urn:city:{etype.split('.')[1]}",
        "type": etype,
        "time": _t(at),
        "district": district_at(lat, lon),
        "data": {**data, "location": {"lat": lat, "lon": lon}},
    }


def seed_city(hub: Hub, seed: int = 7) -> list[str]:
    """Publish the city; returns the alert ids."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    # background: crowd readings on a ~1.2 km lattice over the whole city
    n = 0
    lat = CENTRE[0] - 0.058
    while lat < CENTRE[0] + 0.058:
        lon = CENTRE[1] - 0.078
        while lon < CENTRE[1] + 0.078:
            n += 1
            if district_at(lat, lon) is None:  # at sea
                lon += 0.011
                continue
            hub.publish_event(
                "security",
                _event(
                    f"bg-{n}",
                    "city.security.crowd.density",
                    now - timedelta(minutes=rng.randint(5, 120)),
                    lat + rng.uniform(-0.002, 0.002),
                    lon + rng.uniform(-0.002, 0.002),
                    {
                        "camera_id": f"CAM-{n:03d}",
                        "persons_per_m2": round(rng.uniform(0.2, 2.0), 2),
                    },
                ),
            )
            lon += 0.011
        lat += 0.011

    alerts: list[Alert] = []

    def alert(
        alert_id: str,
        rule: str,
        severity: Severity,
        category: str,
        headline: str,
        key: str,
        where: tuple[float, float] | None,
        departments: list[str],
        evidence: list[dict[str, Any]],
        minutes_ago: int,
        district: str | None = None,
    ) -> Alert:
        for e in evidence:
            domain = e["type"].split(".")[1]
            hub.publish_event(domain, e)
        first = now - timedelta(minutes=minutes_ago)
        a = Alert(
            alert_id=alert_id,
            rule=rule,
            severity=severity,
            category=category,
            headline=headline,
            key=key,
            district=district or (district_at(*where) if where else None),
            location=GeoPoint(lat=where[0], lon=where[1]) if where else None,
            first_event_time=first,
            last_event_time=first + timedelta(minutes=2),
            evidence=[e["id"] for e in evidence],
            departments=departments,
        )
        alerts.append(a)
        return a

    def h2(i: str, site: str, ppm: float, at: datetime, p: tuple[float, float]) -> dict[str, Any]:
        return _event(
            i,
            "city.safety.hydrogen.reading",
            at,
            *p,
            {"site_id": site, "sensor_id": f"{site}-S{i[-1]}", "h2_ppm": ppm},
        )

    p1 = (38.95, 121.57)
    t1 = now - timedelta(minutes=4)
    alert(
        "a7f3c2e19b40",
        "hydrogen-leak",
        Severity.EXTREME,
        "Safety",
        "Hydrogen leak at station H2-03 (10400 ppm)",
        "H2-03",
        p1,
        ["safety"],
        [
            h2(f"h2-03-r{k}", "H2-03", v, t1 + timedelta(seconds=k * 15), p1)
            for k, v in enumerate((4300, 7200, 10400), 1)
        ],
        4,
    )
    p2 = (38.915, 121.645)
    t2 = now - timedelta(minutes=9)
    alert(
        "c41d08aa5e21",
        "hazard-near-crowd",
        Severity.EXTREME,
        "Safety",
        "Chemical smell reported 300 m from a crowd of 4.6 persons/m²",
        "8830995b5bfffff",
        p2,
        ["safety", "security"],
        [
            _event(
                "hz-881",
                "city.safety.hazard.reported",
                t2,
                *p2,
                {"site_id": "CHEM-2", "hazard": "chemical smell near the tank farm"},
            ),
            _event(
                "cd-4471",
                "city.security.crowd.density",
                t2 + timedelta(minutes=3),
                p2[0] + 0.002,
                p2[1] + 0.002,
                {"camera_id": "CAM-PLAZA-1", "persons_per_m2": 4.6},
            ),
        ],
        9,
    )
    p3 = (38.93, 121.66)
    t3 = now - timedelta(minutes=16)
    alert(
        "e9b2770c13d4",
        "incident-burst",
        Severity.SEVERE,
        "Security",
        "3 security incidents within 15 min near Harbour ferry terminal",
        "8830995a2bfffff",
        p3,
        ["security"],
        [
            _event(
                f"inc-{k}",
                "city.security.incident.reported",
                t3 + timedelta(minutes=4 * k),
                p3[0] + 0.0007 * k,
                p3[1] - 0.0006 * k,
                {"incident_id": f"P-2291{k}", "category": c},
            )
            for k, c in enumerate(("theft", "assault", "vandalism"), 1)
        ],
        16,
    )
    p4 = (38.96, 121.62)
    t4 = now - timedelta(hours=30)
    alert(
        "5d60e2f4a871",
        "inspection-overdue",
        Severity.MODERATE,
        "Safety",
        "Inspection of Donghai Chemicals overdue by 6 h",
        "ENT-0042",
        p4,
        ["safety"],
        [
            _event(
                "insp-42",
                "city.safety.inspection.scheduled",
                t4,
                *p4,
                {
                    "enterprise_id": "ENT-0042",
                    "site_id": "CHEM-42",
                    "due_by": _t(t4 + timedelta(hours=1)),
                },
            )
        ],
        60 * 30,
    )
    p5 = (38.90, 121.58)
    alert(
        "0b8e41f5c9a2",
        "service-hotspot",
        Severity.MODERATE,
        "Infra",
        "6 street-lighting requests in Shahekou within 24 h",
        "210204/lighting",
        p5,
        ["urban-management"],
        [],
        55,
    )
    alert(
        "71cc9d03e6b5",
        "service-sla-breach",
        Severity.MINOR,
        "Other",
        "Hotline request 12345-88812 (water pressure) open for 73 h",
        "12345-88812",
        None,
        ["water"],
        [],
        60 * 73,
        district="210203",
    )
    p7 = (38.915, 121.61)
    alert(
        "3fa2b6d8e004",
        "hydrogen-leak",
        Severity.SEVERE,
        "Safety",
        "Hydrogen leak at station H2-05 (5200 ppm)",
        "H2-05",
        p7,
        ["safety"],
        [
            h2(f"h2-05-r{k}", "H2-05", v, now - timedelta(minutes=30, seconds=-k * 10), p7)
            for k, v in enumerate((4100, 4800, 5200), 1)
        ],
        30,
    )
    for a in alerts:
        hub.publish_alert(a)

    # hotline requests of the last weeks: each department its own punctuality
    punctual = {
        "sanitation": 0.95,
        "water": 0.55,
        "housing": 0.8,
        "urban-management": 0.7,
        "transport": 0.9,
        "parks": 0.65,
    }
    k = 0
    for dept, p in punctual.items():
        for _ in range(14):
            k += 1
            opened = now - timedelta(days=rng.uniform(4, 25))
            rid = f"12345-{70000 + k}"
            hub.publish_event("service", service_event(f"{rid}-o", "opened", rid, dept, opened))
            if rng.random() < p:
                took = timedelta(hours=rng.uniform(1, 70))
            elif rng.random() < 0.5:
                took = timedelta(hours=rng.uniform(75, 150))
            else:
                continue  # still open, long overdue
            hub.publish_event(
                "service", service_event(f"{rid}-c", "closed", rid, dept, opened + took)
            )
    return [a.alert_id for a in alerts]
