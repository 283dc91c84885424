"""Hydrogen readings as CloudEvent dicts, timed around the moment the test run started."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hub.events.fields import format_rfc3339

NOW = datetime.now(UTC).replace(microsecond=0)


def reading(
    eid: str, site: str, seconds: float, ppm: float, source: str = "urn:test:h2"
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": eid,
        "source": source,
        "type": "city.safety.hydrogen.reading",
        "time": format_rfc3339(NOW + timedelta(seconds=seconds)),
        "district": "310101",
        "data": {
            "site_id": site,
            "sensor_id": f"{site}-S1",
            "h2_ppm": ppm,
            "location": {"lat": 31.23, "lon": 121.47},
        },
    }
