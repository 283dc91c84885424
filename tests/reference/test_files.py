"""Reference files: every bad row named by its line, and all of a file or none of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.reference.files import (
    ReferenceFileError,
    parse_districts_csv,
    parse_sites_csv,
    parse_sites_geojson,
    read_districts,
    read_sites,
)
from hub.reference.model import Gazetteer
from hub.reference.topic import apply_record, encode_site

DISTRICTS = read_districts()
HEADER = "id,kind,name_zh,name_en,address,district,lat,lon\n"
GOOD = (
    "H2-ST-03,hydrogen-station,金州加氢站3号,Jinzhou H2 station 3,金马路 1号,210213,"
    "39.098,121.715\n"
)


def test_dalian_districts_ship_with_the_hub() -> None:
    assert len(DISTRICTS) == 10
    assert DISTRICTS["210213"].name_zh == "金州区"
    assert DISTRICTS["210212"].name_en == "Lüshunkou"
    assert DISTRICTS["210283"].name("zh-CN") == "庄河市"
    assert DISTRICTS["210283"].name("en") == "Zhuanghe"


def test_a_good_csv_gives_every_site() -> None:
    sites = parse_sites_csv(HEADER + GOOD + "\n", districts=DISTRICTS)
    assert [s.id for s in sites] == ["H2-ST-03"]
    site = sites[0]
    assert (site.name_zh, site.name_en, site.district) == (
        "金州加氢站3号",
        "Jinzhou H2 station 3",
        "210213",
    )
    assert (site.lat, site.lon) == (39.098, 121.715)


def test_columns_in_any_order_and_address_optional() -> None:
    text = (
        "lon,lat,district,name_en,name_zh,kind,id\n121.6,38.9,210202,Hall,大厅,service-point,SP-1\n"
    )
    assert parse_sites_csv(text, districts=DISTRICTS)[0].address == ""


def test_every_bad_row_is_reported_with_its_line() -> None:
    text = (
        HEADER
        + GOOD  # line 2
        + "H2-2,gas-station,x,y,,210213,39.0,121.0\n"  # 3: kind
        + "H2-3,hydrogen-station,x,y,,999999,39.0,121.0\n"  # 4: unknown district
        + "H2-4,camera,x,y,,210213,95,121.0\n"  # 5: latitude
        + "H2-ST-03,camera,x,y,,210213,39,121.0\n"  # 6: duplicate id
        + "H2-5,camera,x,y,,210213,north,121.0\n"  # 7: not a number
        + "H2-6,camera,x,y,,210213\n"  # 8: short row
    )
    with pytest.raises(ReferenceFileError) as caught:
        parse_sites_csv(text, "sites.csv", DISTRICTS)
    problems = {p.line: p for p in caught.value.problems}
    assert sorted(problems) == [3, 4, 5, 6, 7, 8]
    assert "kind: must be one of hydrogen-station" in problems[3].message
    assert "unknown code 999999" in problems[4].message
    assert problems[5].message.startswith("lat:")
    assert "id used twice (first on line 2)" in problems[6].message
    assert problems[7].message.startswith("lat:")
    assert "fewer cells" in problems[8].message
    assert problems[3].item == "H2-2"


def test_line_numbers_count_quoted_newlines() -> None:
    text = (
        HEADER + '"A-1",camera,x,y,"two\nlines",210213,39,121\n' + "B-1,camera,,y,,210213,39,121\n"
    )
    with pytest.raises(ReferenceFileError) as caught:
        parse_sites_csv(text, districts=DISTRICTS)
    assert [p.line for p in caught.value.problems] == [4]


def test_a_wrong_header_is_one_problem_on_line_1() -> None:
    with pytest.raises(ReferenceFileError) as caught:
        parse_sites_csv("id,kind,name,district,lat,lon\n", districts=DISTRICTS)
    [problem] = caught.value.problems
    assert problem.line == 1
    assert "unknown column(s) name" in problem.message
    assert "missing column(s) name_zh, name_en" in problem.message


def _feature(props: dict[str, object], coords: list[float]) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": coords},
    }


def test_geojson_takes_the_point_and_reports_lines() -> None:
    props = {
        "id": "CAM-1",
        "kind": "camera",
        "name_zh": "摄像头",
        "name_en": "Camera",
        "district": "210202",
    }
    bad = {**props, "id": "CAM-2", "kind": "drone"}
    features = [_feature(props, [121.64, 38.92]), _feature(bad, [121.6, 38.9]), {"type": "Feature"}]
    text = (
        '{"type": "FeatureCollection",\n "name": "x",\n "features": [\n'
        + ",\n".join(json.dumps(f, ensure_ascii=False) for f in features)
        + "\n]}\n"
    )
    with pytest.raises(ReferenceFileError) as caught:
        parse_sites_geojson(text, districts=DISTRICTS)
    assert [(p.line, p.item) for p in caught.value.problems] == [(5, "CAM-2"), (6, None)]
    good = text.replace(",\n" + json.dumps(features[1], ensure_ascii=False), "").replace(
        ',\n{"type": "Feature"}', ""
    )
    [site] = parse_sites_geojson(good, districts=DISTRICTS)
    assert (site.id, site.lat, site.lon) == ("CAM-1", 38.92, 121.64)


def test_files_that_are_not_sites(tmp_path: Path) -> None:
    latin = tmp_path / "sites.csv"
    latin.write_bytes(HEADER.encode() + "X,camera,\xe9,y,,210213,39,121\n".encode("latin-1"))
    with pytest.raises(ReferenceFileError, match="not UTF-8"):
        read_sites(latin, DISTRICTS)
    with pytest.raises(ReferenceFileError, match=r"expected \.csv or \.geojson"):
        read_sites(tmp_path / "sites.xlsx", DISTRICTS)
    broken = tmp_path / "sites.geojson"
    broken.write_text('{"type": "FeatureCollection",\n "features": [}')
    with pytest.raises(ReferenceFileError) as caught:
        read_sites(broken, DISTRICTS)
    assert caught.value.problems[0].line == 2


def test_another_citys_districts() -> None:
    table = parse_districts_csv("code,name_zh,name_en\n310101,黄浦区,Huangpu\n")
    assert table["310101"].name_en == "Huangpu"
    with pytest.raises(ReferenceFileError) as caught:
        parse_districts_csv("code,name_zh,name_en\n31010,黄浦区,Huangpu\n310101,,x\n")
    assert [p.line for p in caught.value.problems] == [2, 3]


def test_records_of_the_topic_fill_and_empty_the_table() -> None:
    [site] = parse_sites_csv(HEADER + GOOD, districts=DISTRICTS)
    table = Gazetteer(DISTRICTS)
    key, value = encode_site(site)
    assert apply_record(table, key, value)
    assert table.site("H2-ST-03") == site
    assert not apply_record(table, b"OTHER", value)  # key and id disagree
    assert not apply_record(table, key, b"{}")
    assert apply_record(table, key, None)  # tombstone
    assert table.site("H2-ST-03") is None
