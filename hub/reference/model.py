"""Reference data as models: the sites of the city and the names of its districts.

A site is anything the departments' events name by id (a hydrogen station's `site_id`, an
enterprise's site, a camera's `camera_id`, a service point): what a person calls it, in both
languages, where it is and which district it belongs to. `Gazetteer` is the in-memory table
the workers and the view read, filled from the compacted topic `onenet.reference.sites`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from hub.events.fields import Id

SiteKind = Literal["hydrogen-station", "enterprise", "camera", "service-point"]
SITE_KINDS: tuple[str, ...] = ("hydrogen-station", "enterprise", "camera", "service-point")

DistrictCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class District(BaseModel):
    """An administrative division by its six-digit code (GB/T 2260), named in both languages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: DistrictCode
    name_zh: Name
    name_en: Name

    def name(self, lang: str) -> str:
        return self.name_zh if lang.startswith("zh") else self.name_en


class Site(BaseModel):
    """One row of the gazetteer: the value of a record on `onenet.reference.sites`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Id
    kind: SiteKind
    name_zh: Name
    name_en: Name
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    district: DistrictCode
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)

    @field_validator("lat", "lon", mode="before")
    @classmethod
    def _number(cls, v: object) -> object:
        # CSV cells arrive as text; a boolean is never a coordinate.
        if isinstance(v, bool):
            raise ValueError("must be a number")
        return v

    def name(self, lang: str) -> str:
        return self.name_zh if lang.startswith("zh") else self.name_en


class Gazetteer:
    """Sites by id and districts by code. Readers look names up; one writer applies records.

    Replacing a dict entry is atomic in CPython, so a reader thread may look up while the
    topic's follower applies new records.
    """

    def __init__(
        self, districts: Mapping[str, District] | None = None, sites: Iterable[Site] = ()
    ) -> None:
        self.districts: dict[str, District] = dict(districts or {})
        self.sites: dict[str, Site] = {s.id: s for s in sites}

    def site(self, site_id: object) -> Site | None:
        return self.sites.get(site_id) if isinstance(site_id, str) else None

    def district(self, code: object) -> District | None:
        return self.districts.get(code) if isinstance(code, str) else None

    def put(self, site: Site) -> None:
        self.sites[site.id] = site

    def delete(self, site_id: str) -> None:
        self.sites.pop(site_id, None)
