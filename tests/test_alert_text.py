"""Alert text templates: what they may name, and how values read in both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.correlate.fact import Fact
from hub.correlate.loader import RuleFileError, load_text
from hub.correlate.text import AlertText, Facts, TemplateError, check, format_span, placeholders
from hub.reference.files import read_districts
from hub.reference.model import Gazetteer, Site

T0 = datetime(2026, 12, 4, 19, 24, 51, 790397, tzinfo=UTC)
STATION = Site(
    id="H2-ST-03",
    kind="hydrogen-station",
    name_zh="金州加氢站3号",
    name_en="Jinzhou H2 station 3",
    address="金马路1号",
    district="210213",
    lat=39.098,
    lon=121.715,
)
TEXT = AlertText(Gazetteer(read_districts(), [STATION]))
READING_FIELDS = {"site_id", "sensor_id", "h2_ppm", "pressure_mpa"}


def reading(n: int, ppm: float, site: str = "H2-ST-03", district: str | None = None) -> Fact:
    return Fact(
        uid=f"u{n}",
        id=f"r{n}",
        type="city.safety.hydrogen.reading",
        time=T0 + timedelta(seconds=20 * n),
        data={
            "site_id": site,
            "sensor_id": f"S{n}",
            "h2_ppm": ppm,
            "location": {"lat": 39.098, "lon": 121.715 + n * 0.001},
        },
        district=district,
    )


def render(template: str, facts: list[Fact], lang: str = "en", text: AlertText = TEXT) -> str:
    seen = Facts()
    seen.add(facts)
    scalars = {"count": len(facts), "first_time": facts[0].time, "last_time": facts[-1].time}
    return text.render(template, scalars, seen, lang)


LEAK = [reading(0, 4200.0), reading(1, 12000.0), reading(2, 5000.5)]


def test_the_leak_headline_says_what_and_where_in_both_languages() -> None:
    en = (
        "Hydrogen leak at {site.name} ({district.name}): "
        "{count} readings up to {max.h2_ppm} ppm in {span}"
    )
    zh = "{site.name}（{district.name}）氢气泄漏：{span}内{count}次读数，最高{max.h2_ppm} ppm"
    assert render(en, LEAK) == (
        "Hydrogen leak at Jinzhou H2 station 3 (Jinzhou): 3 readings up to 12,000 ppm in 40 s"
    )
    assert (
        render(zh, LEAK, "zh-CN")
        == "金州加氢站3号（金州区）氢气泄漏：40秒内3次读数，最高12,000 ppm"
    )


def test_aggregates_data_and_formats() -> None:
    assert render("{min.h2_ppm} {max.h2_ppm:,.1f} {data.sensor_id} {data.h2_ppm}", LEAK) == (
        "4,200 12,000.0 S2 5,000.5"
    )
    # three points 0.001° of longitude apart at 39° N: about 173 m end to end
    assert render("{apart}", LEAK) == "173 m"


def test_times_are_in_the_citys_zone_without_microseconds() -> None:
    # 19:24:51.790397 UTC is 03:24:51 the next day in Asia/Shanghai
    assert render("{first_time}", LEAK) == "2026-12-05 03:24:51"
    assert render("{last_time:time} {last_time:date}", LEAK) == "03:25:31 2026-12-05"
    utc = AlertText(Gazetteer(read_districts(), [STATION]), zone="UTC")
    assert render("{first_time}", LEAK, text=utc) == "2026-12-04 19:24:51"


def test_unknown_sites_fall_back_to_ids_and_missing_values_drop_out() -> None:
    facts = [reading(0, 5000.0, site="NOWHERE")]
    assert render("Leak at {site.name} ({district.name})", facts) == "Leak at NOWHERE"
    facts = [reading(0, 5000.0, site="NOWHERE", district="210204")]
    assert (
        render("Leak at {site.name} ({district.name})", facts, "zh-CN")
        == "Leak at NOWHERE (沙河口区)"
    )
    assert render("{site.address}|{camera.name}|{data.hazard}", facts) == "?|?|?"


def test_a_district_comes_from_the_site_when_events_carry_none() -> None:
    assert render("{district.code} {district.name_zh}", LEAK, "en") == "210213 金州区"


def test_durations_read_in_each_language() -> None:
    assert format_span(timedelta(seconds=40), "en") == "40 s"
    assert format_span(timedelta(minutes=12), "en") == "12 min"
    assert format_span(timedelta(hours=2, minutes=5, seconds=9), "en") == "2 h 5 min"
    assert format_span(timedelta(hours=2, minutes=5), "zh-CN") == "2小时5分钟"
    assert format_span(timedelta(0), "en") == "0 s"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{a[0]}", "without [] or calls"),
        ("{key!r}", "conversions"),
        ("{site.name.upper}", "without [] or calls"),
        ("{key:{count}}", "nested"),
        ("{key:>10}", "number format"),
        ("{peek}", "is not a field"),
        ("{max.h2ppm}", "did you mean h2_ppm?"),
        ("{data.hazard}", "no field hazard"),
        ("{site.nmae}", "did you mean name?"),
        ("{district.title}", "a district has no title"),
        ("{sight.name}", "did you mean site?"),
    ],
)
def test_check_refuses_what_the_rule_cannot_fill(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("?", r"\?").replace("[", r"\[")):
        check(template, {"max", "value"}, READING_FIELDS)


def test_check_takes_what_the_rule_can_fill() -> None:
    check(
        "{key} {max} {max.h2_ppm:,.0f} {site.name_zh} {district.code} {span} {last_time:time}",
        {"max"},
        READING_FIELDS,
    )
    assert [p.name for p in placeholders("{a} and {b.c}")] == ["a", "b.c"]


PACK = """
name: t
rules:
  - name: leak
    kind: threshold
    match:
      type: city.safety.hydrogen.reading
      where: {h2_ppm: {gte: 4000}}
    group_by: site_id
    window: {size: 60s}
    threshold: 3
    severity: Severe
    category: Safety
    departments: [safety]
    headline: "Leak at {site.name}"
    headline_zh: "{site.name}泄漏，最高{max.h2_pmm}"
"""


def test_rules_check_names_the_rule_and_the_field() -> None:
    with pytest.raises(RuleFileError) as caught:
        load_text(PACK, "t.yaml")
    [problem] = caught.value.problems
    assert problem.field == "rules[0] (leak)"
    assert "headline_zh: {max.h2_pmm}" in problem.message
    assert "did you mean h2_ppm?" in problem.message
    with pytest.raises(RuleFileError) as caught:
        load_text(PACK.replace("max.h2_pmm", "max.h2_ppm").replace("h2_ppm: {gte", "h2ppm: {gte"))
    [problem] = caught.value.problems
    assert problem.field == "rules[0] (leak).match"
    assert (
        "city.safety.hydrogen.reading has no field h2ppm; did you mean h2_ppm?" in problem.message
    )
