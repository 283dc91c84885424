"""Reading reference files: districts (CSV) and sites (CSV or GeoJSON), every problem with
its line, and all of a file or none of it.

Sites CSV: a header row naming the columns `id, kind, name_zh, name_en, address, district,
lat, lon` (any order; `address` may be left out), one site a row. Sites GeoJSON: a
FeatureCollection of Point features whose properties are the same fields but `lat`/`lon`,
which come from the point. Districts CSV: `code, name_zh, name_en`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hub.reference.model import SITE_KINDS, District, Site

BUILTIN_DISTRICTS = Path(__file__).resolve().parent.parent / "data" / "reference"
DALIAN_DISTRICTS = BUILTIN_DISTRICTS / "districts-dalian.csv"

SITE_COLUMNS = ("id", "kind", "name_zh", "name_en", "address", "district", "lat", "lon")
DISTRICT_COLUMNS = ("code", "name_zh", "name_en")
MAX_PROBLEMS = 200  # a wholly wrong file says so without printing a million lines


@dataclass(frozen=True)
class Problem:
    line: int | None
    message: str
    #: the row's site id, when it has one
    item: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.item}: {self.message}" if self.item else f"{where}: {self.message}"


class ReferenceFileError(Exception):
    def __init__(self, path: str, problems: list[Problem]) -> None:
        super().__init__(f"{path}: " + "; ".join(str(p) for p in problems[:3]))
        self.path = path
        self.problems = problems


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ReferenceFileError(
            str(path), [Problem(None, f"cannot read: {exc.strerror}")]
        ) from None
    except UnicodeDecodeError as exc:
        raise ReferenceFileError(
            str(path), [Problem(None, f"not UTF-8 (byte {exc.start}); save the file as UTF-8")]
        ) from None


def _explain(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        field = ".".join(str(p) for p in e["loc"]) or "row"
        msg = e["msg"]
        if e["type"] == "literal_error" and field == "kind":
            msg = f"must be one of {', '.join(SITE_KINDS)}"
        elif e["type"] == "extra_forbidden":
            msg = "unknown field"
        elif e["type"] == "missing":
            msg = "missing"
        parts.append(f"{field}: {msg}")
    return "; ".join(parts)


def _check_row(
    row: dict[str, Any],
    line: int | None,
    districts: dict[str, District] | None,
    seen: dict[str, int | None],
    problems: list[Problem],
) -> Site | None:
    item = row.get("id") if isinstance(row.get("id"), str) and row.get("id") else None
    try:
        site = Site.model_validate(row)
    except ValidationError as exc:
        problems.append(Problem(line, _explain(exc), item))
        return None
    if districts is not None and site.district not in districts:
        problems.append(
            Problem(
                line,
                f"district: unknown code {site.district} "
                f"(known: {', '.join(sorted(districts))}; set ONENET_DISTRICTS_PATH for "
                "another city's)",
                item,
            )
        )
        return None
    if site.id in seen:
        first = seen[site.id]
        problems.append(
            Problem(
                line, f"id used twice (first on line {first})" if first else "id used twice", item
            )
        )
        return None
    seen[site.id] = line
    return site


def parse_sites_csv(
    text: str, name: str = "<sites>", districts: dict[str, District] | None = None
) -> list[Site]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    problems: list[Problem] = []
    unknown = [h for h in header if h not in SITE_COLUMNS]
    missing = [c for c in SITE_COLUMNS if c not in header and c != "address"]
    if not header:
        raise ReferenceFileError(name, [Problem(1, "empty file; expected a header row")])
    if unknown or missing:
        what = []
        if unknown:
            what.append(f"unknown column(s) {', '.join(unknown)}")
        if missing:
            what.append(f"missing column(s) {', '.join(missing)}")
        raise ReferenceFileError(
            name, [Problem(1, "; ".join(what) + f"; expected {', '.join(SITE_COLUMNS)}")]
        )
    sites: list[Site] = []
    seen: dict[str, int | None] = {}
    start = 2
    for raw in reader:
        line, start = start, reader.line_num + 1
        if None in raw:  # more cells than columns
            problems.append(
                Problem(line, f"{len(header) + len(raw[None])} cells, header has {len(header)}")
            )
            continue
        if all(v is None or not v.strip() for v in raw.values()):
            continue  # blank line
        row: dict[str, Any] = {k: (v.strip() if isinstance(v, str) else v) for k, v in raw.items()}
        if any(v is None for v in row.values()):
            problems.append(Problem(line, f"fewer cells than the header's {len(header)}"))
            continue
        site = _check_row(row, line, districts, seen, problems)
        if site is not None:
            sites.append(site)
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise ReferenceFileError(name, problems)
    return sites


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _features(text: str, name: str) -> list[tuple[int, Any]]:
    """The `features` of a GeoJSON FeatureCollection, each with the line it starts on.

    The standard decoder gives no positions, so the top-level object is walked with
    `raw_decode`, one member at a time.
    """
    dec = json.JSONDecoder()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReferenceFileError(
            name, [Problem(exc.lineno, f"not valid JSON: {exc.msg}")]
        ) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ReferenceFileError(name, [Problem(1, "expected a GeoJSON FeatureCollection")])
    if not isinstance(doc.get("features"), list):
        raise ReferenceFileError(name, [Problem(1, "`features` must be a list")])
    pos = _skip_ws(text, 0) + 1  # past "{"
    while True:
        pos = _skip_ws(text, pos)
        key, pos = dec.raw_decode(text, pos)
        pos = _skip_ws(text, pos) + 1  # past ":"
        pos = _skip_ws(text, pos)
        if key != "features":
            _, pos = dec.raw_decode(text, pos)
            pos = _skip_ws(text, pos) + 1  # past "," (the document is valid JSON)
            continue
        out: list[tuple[int, Any]] = []
        pos = _skip_ws(text, pos + 1)  # past "["
        while text[pos] != "]":
            item, end = dec.raw_decode(text, pos)
            out.append((text.count("\n", 0, pos) + 1, item))
            pos = _skip_ws(text, end)
            if text[pos] == ",":
                pos = _skip_ws(text, pos + 1)
        return out


def parse_sites_geojson(
    text: str, name: str = "<sites>", districts: dict[str, District] | None = None
) -> list[Site]:
    problems: list[Problem] = []
    sites: list[Site] = []
    seen: dict[str, int | None] = {}
    for line, feature in _features(text, name):
        props = feature.get("properties") if isinstance(feature, dict) else None
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if not isinstance(props, dict):
            problems.append(Problem(line, "a Feature needs `properties`"))
            continue
        if (
            not isinstance(geometry, dict)
            or geometry.get("type") != "Point"
            or not isinstance(coords, list)
            or len(coords) < 2
        ):
            problems.append(
                Problem(line, "geometry must be a Point [lon, lat]", props.get("id") or None)
            )
            continue
        bad = sorted({"lat", "lon"} & props.keys())
        if bad:
            problems.append(
                Problem(line, f"{', '.join(bad)}: comes from the geometry", props.get("id") or None)
            )
            continue
        row = {**props, "lon": coords[0], "lat": coords[1]}
        site = _check_row(row, line, districts, seen, problems)
        if site is not None:
            sites.append(site)
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise ReferenceFileError(name, problems)
    return sites


def read_sites(path: Path, districts: dict[str, District] | None = None) -> list[Site]:
    """Every site of a CSV or GeoJSON file; `ReferenceFileError` lists every bad row."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".geojson", ".json"):
        raise ReferenceFileError(
            str(path), [Problem(None, "unknown file type; expected .csv or .geojson")]
        )
    text = _read(path)
    if suffix == ".csv":
        return parse_sites_csv(text, str(path), districts)
    return parse_sites_geojson(text, str(path), districts)


def parse_districts_csv(text: str, name: str = "<districts>") -> dict[str, District]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    if sorted(header) != sorted(DISTRICT_COLUMNS):
        raise ReferenceFileError(
            name,
            [
                Problem(
                    1,
                    f"header must be {', '.join(DISTRICT_COLUMNS)}, "
                    f"not {', '.join(header) or 'empty'}",
                )
            ],
        )
    problems: list[Problem] = []
    out: dict[str, District] = {}
    start = 2
    for raw in reader:
        line, start = start, reader.line_num + 1
        if all(v is None or not v.strip() for v in raw.values() if isinstance(v, str)):
            continue
        row = {k: v.strip() for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}
        try:
            district = District.model_validate(row)
        except ValidationError as exc:
            problems.append(Problem(line, _explain(exc), row.get("code") or None))
            continue
        if district.code in out:
            problems.append(Problem(line, "code used twice", district.code))
            continue
        out[district.code] = district
    if problems:
        raise ReferenceFileError(name, problems)
    if not out:
        raise ReferenceFileError(name, [Problem(None, "no districts")])
    return out


def read_districts(path: Path | None = None) -> dict[str, District]:
    """The district names of `path`, else Dalian's, which ship with the hub."""
    path = path or DALIAN_DISTRICTS
    if path.suffix.lower() != ".csv":
        raise ReferenceFileError(str(path), [Problem(None, "expected a .csv file")])
    return parse_districts_csv(_read(path), str(path))
