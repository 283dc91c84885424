"""Alert text: the headline and description templates of rule files, checked and rendered.

A template is text with `{name}` placeholders, in the syntax of Python's `str.format` but
restricted to a small language of its own: a placeholder is a plain name or `root.field`
(never an index, a call or an attribute of a Python object), with an optional format spec
from a short list. What a name can refer to:

    key, rule, count              the alert's key, its rule, how many events are its evidence
    first_time, last_time         event times of the first and newest evidence
    span                          last_time - first_time, as "40 s", "12 min", "2 h 5 min"
    apart                         the largest distance between two of the matched events
    <the rule kind's own>         threshold: value, threshold, window, max; co-location:
                                  distance, within, cell; absence: deadline, subject;
                                  sequence: within
    data.F                        field F of the newest matched event that has it
    max.F, min.F                  the largest / smallest F over the episode's events
    site.A, camera.A              the gazetteer's site named by the events' site_id / camera_id
                                  (A: name, name_zh, name_en, address, kind, id)
    district.A                    the alert's district (A: name, name_zh, name_en, code)

`name` is in the text's language (zh-CN or en). A site the gazetteer does not know is named
by its id, a district by its code; a value that is missing altogether shows as `?`, and a
parenthesis holding only that is left out. Numbers get thousands separators (12,000) and at most two
decimals unless a spec says otherwise (`{max.h2_ppm:,.0f}`); times are shown in the city's
zone without fractions of a second (`{last_time:time}` for the time of day only).
"""

from __future__ import annotations

import difflib
import math
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.correlate.fact import Fact
from hub.reference.files import read_districts
from hub.reference.model import District, Gazetteer, Site

BASE_FIELDS = frozenset({"key", "rule", "count", "first_time", "last_time", "span", "apart"})
SITE_ATTRIBUTES = ("name", "name_zh", "name_en", "address", "kind", "id")
DISTRICT_ATTRIBUTES = ("name", "name_zh", "name_en", "code")
EVENT_ROOTS = ("data", "max", "min")
ROOTS = (*EVENT_ROOTS, "site", "camera", "district")
#: number specs (`,.0f`, `.1f`, `,`, `%`...) and the two time specs
_NUMBER_SPEC = re.compile(r"^,?(\.[0-9])?[f%]?$")
_TIME_SPECS = ("", "time", "date")
MAX_TEXT = 300
MISSING = "?"
#: a parenthesis holding nothing but a missing value is left out: "at S1 (?)" reads "at S1"
_EMPTY_PARENS = re.compile(r"\s?\(\?\)|（\?）|, \?(?=\))|，\?(?=）)")


class TemplateError(ValueError):
    pass


@dataclass(frozen=True)
class Placeholder:
    path: tuple[str, ...]
    spec: str

    @property
    def name(self) -> str:
        return ".".join(self.path)


def placeholders(template: str) -> list[Placeholder]:
    """Every placeholder of `template`; `TemplateError` for anything outside the language."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"not a valid template: {exc}") from None
    out = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if conversion:
            raise TemplateError(f"{{{name}!{conversion}}}: conversions (!r, !s) are not allowed")
        path = tuple(name.split("."))
        if not name or not all(p.isidentifier() for p in path) or len(path) > 2:
            raise TemplateError(
                f"{{{name}}}: a placeholder is a name or root.field such as {{key}}, "
                "{site.name} or {max.h2_ppm}, without [] or calls"
            )
        if spec and "{" in spec:
            raise TemplateError(f"{{{name}:{spec}}}: nested placeholders are not allowed")
        if spec and not (_NUMBER_SPEC.match(spec) or spec in _TIME_SPECS):
            raise TemplateError(
                f"{{{name}:{spec}}}: format must be a number format such as ,.0f or .1f, "
                "or time / date"
            )
        out.append(Placeholder(path, spec or ""))
    return out


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def check(template: str, kind_fields: Iterable[str], event_fields: set[str] | None) -> None:
    """Raise `TemplateError` naming the first placeholder the rule cannot fill.

    `event_fields` are the data fields of the rule's event types (None: not known, e.g. a
    type the hub does not define, which the loader reports on its own).
    """
    scalars = BASE_FIELDS | set(kind_fields)
    for p in placeholders(template):
        root = p.path[0]
        if len(p.path) == 1:
            if root not in scalars:
                hint = _suggest(root, [*scalars, *ROOTS])
                raise TemplateError(
                    f"{{{p.name}}} is not a field{hint} (fields: {', '.join(sorted(scalars))}; "
                    "data.F, max.F, min.F; site.A, camera.A, district.A)"
                )
            continue
        attr = p.path[1]
        if root in EVENT_ROOTS:
            if event_fields is not None and attr not in event_fields:
                raise TemplateError(
                    f"{{{p.name}}}: the rule's events have no field {attr}"
                    f"{_suggest(attr, event_fields)} (they have {', '.join(sorted(event_fields))})"
                )
        elif root in ("site", "camera"):
            if attr not in SITE_ATTRIBUTES:
                raise TemplateError(
                    f"{{{p.name}}}: a site has no {attr}{_suggest(attr, SITE_ATTRIBUTES)} "
                    f"(it has {', '.join(SITE_ATTRIBUTES)})"
                )
        elif root == "district":
            if attr not in DISTRICT_ATTRIBUTES:
                raise TemplateError(
                    f"{{{p.name}}}: a district has no {attr}"
                    f"{_suggest(attr, DISTRICT_ATTRIBUTES)} "
                    f"(it has {', '.join(DISTRICT_ATTRIBUTES)})"
                )
        else:
            raise TemplateError(
                f"{{{p.name}}}: unknown root {root}{_suggest(root, ROOTS)} "
                f"(roots: {', '.join(ROOTS)})"
            )


# --- rendering ---------------------------------------------------------------------------------


def _number(v: float, spec: str) -> str:
    if spec:
        return format(v, spec)
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return format(int(v), ",")
    return format(round(v, 2) if isinstance(v, float) else v, ",")


_UNITS = {"en": ("d", "h", "min", "s"), "zh": ("天", "小时", "分钟", "秒")}


def format_span(value: timedelta, lang: str) -> str:
    """`40 s`, `12 min`, `2 h 5 min`; in Chinese `40秒`, `2小时5分钟`. Two units at most."""
    units = _UNITS["zh" if lang.startswith("zh") else "en"]
    seconds = max(int(value.total_seconds()), 0)
    parts: list[tuple[int, str]] = []
    for unit, size in zip(units, (86400, 3600, 60, 1), strict=True):
        if seconds >= size or (size == 1 and not parts):
            parts.append((seconds // size, unit))
            seconds %= size
    sep, join = ("", "") if lang.startswith("zh") else (" ", " ")
    return join.join(f"{n}{sep}{u}" for n, u in parts[:2] if n or len(parts) == 1)


def format_metres(m: float) -> str:
    return f"{m / 1000:.1f} km" if m >= 1000 else f"{round(m):,} m"


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(h)))


@dataclass
class Facts:
    """What templates read of an episode: running aggregates kept in the episode's values,
    so `max.F` covers every event of the episode and not only the newest match."""

    maxima: dict[str, float] = field(default_factory=dict)
    minima: dict[str, float] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    site_id: str | None = None
    camera_id: str | None = None
    district: str | None = None
    apart: float | None = None

    @classmethod
    def load(cls, raw: Mapping[str, Any] | None) -> Facts:
        if not raw:
            return cls()
        return cls(
            maxima=dict(raw.get("max", {})),
            minima=dict(raw.get("min", {})),
            data=dict(raw.get("data", {})),
            site_id=raw.get("site"),
            camera_id=raw.get("camera"),
            district=raw.get("district"),
            apart=raw.get("apart"),
        )

    def dump(self) -> dict[str, Any]:
        return {
            "max": self.maxima,
            "min": self.minima,
            "data": self.data,
            "site": self.site_id,
            "camera": self.camera_id,
            "district": self.district,
            "apart": self.apart,
        }

    def add(self, facts: Iterable[Fact]) -> None:
        points = []
        for f in sorted(facts, key=lambda f: f.time):
            for name, v in f.data.items():
                if isinstance(v, bool | dict | list):
                    continue
                self.data[name] = v
                if isinstance(v, int | float):
                    self.maxima[name] = max(self.maxima.get(name, v), v)
                    self.minima[name] = min(self.minima.get(name, v), v)
            if self.site_id is None and isinstance(f.data.get("site_id"), str):
                self.site_id = f.data["site_id"]
            if self.camera_id is None and isinstance(f.data.get("camera_id"), str):
                self.camera_id = f.data["camera_id"]
            if self.district is None and f.district:
                self.district = f.district
            if f.point is not None:
                points.append(f.point)
        if len(points) > 1:
            widest = max(_distance_m(a, b) for i, a in enumerate(points) for b in points[i + 1 :])
            self.apart = max(self.apart or 0.0, widest)


class AlertText:
    """Renders templates against one episode, the gazetteer and the city's zone."""

    def __init__(
        self,
        reference: Gazetteer | None = None,
        zone: str = "Asia/Shanghai",
    ) -> None:
        self.reference = reference if reference is not None else Gazetteer(_dalian())
        self.zone = ZoneInfo(zone)

    def _time(self, t: datetime, spec: str) -> str:
        try:
            local = t.astimezone(self.zone)
        except OverflowError:  # at the ends of the calendar (saturated deadlines): as it is
            local = t
        if spec == "time":
            return local.strftime("%H:%M:%S")
        if spec == "date":
            return local.strftime("%Y-%m-%d")
        return local.strftime("%Y-%m-%d %H:%M:%S")

    def _value(self, v: Any, spec: str, lang: str) -> str:
        if v is None:
            return MISSING
        if isinstance(v, datetime):
            return self._time(v, spec)
        if isinstance(v, timedelta):
            return format_span(v, lang)
        if isinstance(v, int | float) and not isinstance(v, bool):
            try:
                return _number(v, spec)
            except ValueError:
                return str(v)
        return str(v)[:120]

    def _site(self, site_id: str | None, attr: str, lang: str) -> Any:
        if site_id is None:
            return None
        site: Site | None = self.reference.site(site_id)
        if site is None:
            return site_id if attr in ("name", "name_zh", "name_en", "id") else None
        if attr == "name":
            return site.name(lang)
        return getattr(site, attr)

    def district_code(self, facts: Facts) -> str | None:
        if facts.district:
            return facts.district
        for sid in (facts.site_id, facts.camera_id):
            site = self.reference.site(sid)
            if site is not None:
                return site.district
        return None

    def _district(self, code: str | None, attr: str, lang: str) -> Any:
        if code is None:
            return None
        if attr == "code":
            return code
        district: District | None = self.reference.district(code)
        if district is None:
            return code
        return district.name(lang) if attr == "name" else getattr(district, attr)

    def render(
        self,
        template: str,
        scalars: Mapping[str, Any],
        facts: Facts,
        lang: str = "en",
        limit: int = MAX_TEXT,
    ) -> str:
        pieces: list[str] = []
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError:
            return template[:limit]
        for literal, name, spec, _ in parsed:
            pieces.append(literal)
            if name is None:
                continue
            root, _, attr = name.partition(".")
            v: Any
            if not attr:
                if root == "span":
                    first, last = scalars.get("first_time"), scalars.get("last_time")
                    v = (
                        last - first
                        if isinstance(first, datetime) and isinstance(last, datetime)
                        else None
                    )
                elif root == "apart":
                    v = format_metres(facts.apart) if facts.apart is not None else None
                else:
                    v = scalars.get(root)
            elif root == "data":
                v = facts.data.get(attr)
            elif root == "max":
                v = facts.maxima.get(attr)
            elif root == "min":
                v = facts.minima.get(attr)
            elif root == "site":
                v = self._site(facts.site_id, attr, lang)
            elif root == "camera":
                v = self._site(facts.camera_id, attr, lang)
            elif root == "district":
                v = self._district(self.district_code(facts), attr, lang)
            else:
                v = None
            pieces.append(self._value(v, spec or "", lang))
        return _EMPTY_PARENS.sub("", "".join(pieces))[:limit]


_DALIAN: dict[str, District] | None = None


def _dalian() -> dict[str, District]:
    global _DALIAN
    if _DALIAN is None:
        _DALIAN = read_districts()
    return _DALIAN


DEFAULT_TEXT: AlertText | None = None


def default_text() -> AlertText:
    """No sites, Dalian's districts, Asia/Shanghai: what rule tests and tools render with."""
    global DEFAULT_TEXT
    if DEFAULT_TEXT is None:
        DEFAULT_TEXT = AlertText()
    return DEFAULT_TEXT
