"""The CAP connector on CAP 1.2 documents written here: from a folder and from an Atom feed
served on loopback, into a real Kafka. Hostile XML must be refused, never expanded."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import h3  # type: ignore[import-untyped]
import orjson
import pytest

from connectors.cap import CapConnector, CapOptions
from connectors.cap.mapping import polygon_centroid, select_infos
from connectors.cap.parse import CapError, Info, parse_xml
from connectors.sdk.runner import Runner
from hub.errors import UserError
from hub.events import read_deadletter
from hub.kafka import producer
from hub.topics import Topics
from tests.support.hubproc import Hub

pytestmark = pytest.mark.timeout(120)

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
SQUARE = "31.22,121.46 31.22,121.48 31.24,121.48 31.24,121.46 31.22,121.46"


def info(
    event: str,
    category: str = "Fire",
    area: str = f"<polygon>{SQUARE}</polygon>",
    language: str = "en-US",
    parameters: str = "",
) -> str:
    return f"""
  <info>
    <language>{language}</language>
    <category>{category}</category>
    <event>{event}</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <expires>2024-05-01T12:00:00+08:00</expires>
    <senderName>Shanghai Emergency Management</senderName>
    <headline>{event} reported</headline>
    {parameters}
    <area><areaDesc>Pudong test area</areaDesc>{area}</area>
  </info>"""


def cap(
    identifier: str,
    *infos: str,
    msg_type: str = "Alert",
    status: str = "Actual",
    extra: str = "",
) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="{CAP_NS}">
  <identifier>{identifier}</identifier>
  <sender>sem@example.gov.cn</sender>
  <sent>2024-05-01T08:30:00+08:00</sent>
  <status>{status}</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>
  {extra}{"".join(infos)}
</alert>
""".encode()


GEOCODE_ONLY = "<geocode><valueName>ZIP</valueName><value>200120</value></geocode>"
SITE = "<parameter><valueName>site_id</valueName><value>PLANT-7</value></parameter>"
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE alert [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier></alert>
"""


def xxe(secret: Path) -> bytes:
    return cap("XXE-1", info("&xxe;")).replace(
        b"<alert ",
        f'<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file://{secret}">]>\n<alert '.encode(),
        1,
    )


def documents(secret: Path) -> dict[str, bytes]:
    return {
        "01-polygon.xml": cap("FIRE-1", info("Chemical plant fire", parameters=SITE)),
        "02-circle.xml": cap(
            "SEC-1", info("Armed robbery", "Security", "<circle>31.2,121.5 2.5</circle>")
        ),
        "03-multi.xml": cap(
            "MULTI",
            info("Flash flood", "Met"),
            info("山洪", "Met", language="zh-CN"),
            info("Trapped people", "Rescue", "<circle>31.25,121.45 0.5</circle>"),
        ),
        "04-no-area.xml": cap(
            "GEO-ONLY",
            info("Gas leak", "Safety", GEOCODE_ONLY),
        ),
        "05-broken.xml": f'<alert xmlns="{CAP_NS}"><identifier>x</ident'.encode(),
        "06-bomb.xml": BILLION_LAUGHS,
        "07-xxe.xml": xxe(secret),
        "08-cancel.xml": cap(
            "FIRE-1-C",
            info("Chemical plant fire", parameters=SITE),
            msg_type="Cancel",
            extra="<references>sem@example.gov.cn,FIRE-1,2024-05-01T08:30:00+08:00</references>",
        ),
        "09-exercise.xml": cap("DRILL", info("Drill fire"), status="Exercise"),
        "10-update.xml": cap(
            "FIRE-1-U",
            info("Chemical plant fire spreading", parameters=SITE),
            msg_type="Update",
            extra="<references>sem@example.gov.cn,FIRE-1,2024-05-01T08:30:00+08:00</references>",
        ),
    }


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-CONTENT")
    return path


def make_runner(hub: Hub, tmp_path: Path, **options: Any) -> Runner:
    return Runner(
        CapConnector(CapOptions(**options)),
        producer=producer(hub.bootstrap),
        topics=Topics(hub.prefix),
        checkpoint_path=tmp_path / "ck.json",
        source="urn:onenet:connector:cap:test",
        checkpoint_interval=0.5,
    )


def run_once(hub: Hub, tmp_path: Path, **options: Any) -> dict[str, int]:
    runner = make_runner(hub, tmp_path, **options)
    try:
        return asyncio.run(runner.run(install_signals=False))
    finally:
        runner.producer.close(timeout=5)


def read(hub: Hub, topic: str, count: int) -> list[Any]:
    return hub.read_topic(topic, min_records=count, timeout=30)


# --- pure parts ----------------------------------------------------------------------------------


def test_polygon_centroid_is_area_weighted() -> None:
    lat, lon = polygon_centroid(SQUARE)
    assert (round(lat, 6), round(lon, 6)) == (31.23, 121.47)
    # A triangle with dense points along one edge: the vertex mean would drift there.
    lat, lon = polygon_centroid("0,0 0,1 0,2 0,3 0,4 0,5 0,6 3,0 0,0")
    assert (round(lat, 6), round(lon, 6)) == (1.0, 2.0)


def test_language_preference_picks_one_variant() -> None:
    def made(index: int, language: str) -> Info:
        return Info(index, language, ("Met",), "e", "", "", "", "", "", {}, ())

    infos = [made(0, "en-US"), made(1, "zh-CN"), made(2, "en-US")]
    assert [i.index for i in select_infos(infos, [])] == [0, 2]
    assert [i.index for i in select_infos(infos, ["zh"])] == [1]
    assert [i.index for i in select_infos(infos, ["fr", "zh-CN"])] == [1]


def test_hostile_xml_is_refused_before_expansion(secret: Path) -> None:
    for hostile in (BILLION_LAUGHS, xxe(secret)):
        with pytest.raises(CapError) as refused:
            parse_xml(hostile, max_bytes=1 << 20)
        assert refused.value.reason == "unsafe-xml"
    with pytest.raises(CapError, match="too-large"):
        parse_xml(cap("BIG", info("x" * 4000)), max_bytes=2048)


# --- through Kafka -----------------------------------------------------------------------------


def test_folder_one_pass_maps_alerts_and_dead_letters_what_it_cannot_use(
    hub: Hub, tmp_path: Path, secret: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, body in documents(secret).items():
        (inbox / name).write_bytes(body)
    (inbox / ".half-written.xml").write_bytes(b"<alert")  # a producer's temp file: ignored

    counts = run_once(hub, tmp_path, path=inbox, district="310115")
    assert counts == {"published": 5, "duplicate": 0, "rejected": 4, "signalled": 0}

    topics = Topics(hub.prefix)
    safety = [orjson.loads(r.value) for r in read(hub, topics.safety, 3)]
    security = [(r.key, orjson.loads(r.value)) for r in read(hub, topics.security, 2)]
    assert len(safety) == 3
    assert len(security) == 2

    fire, flood, update = safety
    assert fire["type"] == "city.safety.hazard.reported"
    assert fire["data"]["site_id"] == "PLANT-7"
    assert fire["data"]["hazard"] == "Chemical plant fire"
    assert fire["data"]["location"] == {"lat": pytest.approx(31.23), "lon": pytest.approx(121.47)}
    assert fire["time"] == "2024-05-01T08:30:00+08:00"
    assert fire["district"] == "310115"
    assert fire["data"]["cap_sender"] == "sem@example.gov.cn"
    assert fire["data"]["cap_identifier"] == "FIRE-1"
    assert fire["data"]["cap_severity"] == "Severe"
    assert fire["data"]["cap_urgency"] == "Immediate"
    assert fire["data"]["cap_expires"] == "2024-05-01T12:00:00+08:00"
    assert flood["data"]["site_id"] == "cap:MULTI"  # no site parameter
    assert flood["data"]["hazard"] == "Flash flood"  # the zh-CN variant was not published again
    assert update["data"]["hazard"] == "Chemical plant fire spreading"
    assert update["data"]["cap_msg_type"] == "Update"
    assert update["data"]["cap_references"].startswith("sem@example.gov.cn,FIRE-1,")

    (robbery_key, robbery), (trapped_key, trapped) = security
    assert robbery["type"] == "city.security.incident.reported"
    assert robbery["data"]["incident_id"] == "SEC-1"
    assert robbery["data"]["category"] == "Armed robbery"
    assert robbery["data"]["location"] == {"lat": 31.2, "lon": 121.5}
    assert robbery_key.decode() == h3.latlng_to_cell(31.2, 121.5, 7)
    assert trapped["data"]["incident_id"] == "MULTI#2"
    assert trapped_key.decode() == h3.latlng_to_cell(31.25, 121.45, 7)

    dead = read(hub, topics.deadletter, 4)
    letters = {Path(read_deadletter(r.headers)["origin"].split("#")[0]).name: r for r in dead}
    reasons = {name: read_deadletter(r.headers)["reason"] for name, r in letters.items()}
    assert reasons == {
        "04-no-area.xml": "no-location",
        "05-broken.xml": "invalid-xml",
        "06-bomb.xml": "unsafe-xml",
        "07-xxe.xml": "unsafe-xml",
    }
    assert read_deadletter(letters["04-no-area.xml"].headers)["origin"].endswith("#info[0]")
    # The XXE document is dead-lettered as received: the entity was never resolved.
    assert letters["07-xxe.xml"].value == xxe(secret)
    everything = b"".join(r.value for r in dead) + b"".join(
        orjson.dumps(e) for e in [*safety, *(e for _, e in security)]
    )
    assert b"TOP-SECRET-CONTENT" not in everything
    assert b"lollollol" not in everything

    # A restart reads nothing again; a touched file is re-read and its events are duplicates.
    assert run_once(hub, tmp_path, path=inbox)["published"] == 0
    (inbox / "01-polygon.xml").write_bytes(documents(secret)["01-polygon.xml"] + b"\n")
    again = run_once(hub, tmp_path, path=inbox)
    assert again == {"published": 0, "duplicate": 1, "rejected": 0, "signalled": 0}


def test_watch_picks_up_new_files(hub: Hub, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    runner = make_runner(hub, tmp_path, path=inbox, watch=True, interval=0.2)

    async def scenario() -> dict[str, int]:
        task = asyncio.create_task(runner.run(install_signals=False))
        await asyncio.sleep(0.5)
        partial = inbox / "new.xml.part"
        partial.write_bytes(cap("LATE-1", info("Bridge collapse", "Infra")))
        partial.rename(inbox / "new.xml")
        records = await asyncio.to_thread(read, hub, Topics(hub.prefix).safety, 1)
        assert orjson.loads(records[0].value)["data"]["hazard"] == "Bridge collapse"
        runner.stopping.set()
        return await asyncio.wait_for(task, timeout=30)

    try:
        counts = asyncio.run(scenario())
    finally:
        runner.producer.close(timeout=5)
    assert counts["published"] == 1
    assert counts["signalled"] == 1


class FeedServer:
    """Static files over HTTP on loopback, recording each path asked for."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.asked: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.asked.append(self.path)
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def atom(*entries: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Agency alerts</title><id>urn:test:feed</id><updated>2024-05-01T00:30:00Z</updated>
  {"".join(entries)}
</feed>""".encode()


def entry(entry_id: str, body: str) -> str:
    return f"<entry><id>{entry_id}</id><updated>2024-05-01T00:30:00Z</updated>{body}</entry>"


@pytest.fixture
def feed(secret: Path) -> Iterator[FeedServer]:
    docs = documents(secret)
    embedded = cap("EMB-1", info("Landslide", "Geo")).split(b"?>", 1)[1].decode()
    files = {
        "/feed.atom": atom(
            entry(
                "e1", '<link rel="alternate" type="application/cap+xml" href="alerts/fire.xml"/>'
            ),
            entry("e2", f'<content type="application/cap+xml">{embedded}</content>'),
            entry("e3", '<link type="application/cap+xml" href="/alerts/xxe.xml"/>'),
            entry("e4", '<link type="application/cap+xml" href="/alerts/later.xml"/>'),
            entry("e5", '<link type="application/cap+xml" href="file:///etc/passwd"/>'),
        ),
        "/alerts/fire.xml": docs["01-polygon.xml"],
        "/alerts/xxe.xml": docs["07-xxe.xml"],
    }
    with FeedServer(files) as server:
        yield server


def test_atom_feed_links_and_embedded_alerts(hub: Hub, tmp_path: Path, feed: FeedServer) -> None:
    url = feed.url("/feed.atom")
    with pytest.raises(UserError, match="1 CAP document"):  # later.xml is not there yet
        run_once(hub, tmp_path, url=url)
    assert feed.asked == ["/feed.atom", "/alerts/fire.xml", "/alerts/xxe.xml", "/alerts/later.xml"]

    topics = Topics(hub.prefix)
    hazards = [orjson.loads(r.value)["data"]["hazard"] for r in read(hub, topics.safety, 2)]
    assert hazards == ["Chemical plant fire", "Landslide"]
    dead = read(hub, topics.deadletter, 1)
    assert [read_deadletter(r.headers)["reason"] for r in dead] == ["unsafe-xml"]
    assert read_deadletter(dead[0].headers)["origin"] == feed.url("/alerts/xxe.xml")

    # Once the missing document appears, a restart fetches only that entry's link.
    feed.files["/alerts/later.xml"] = cap("LATER", info("Tunnel flooding", "Infra"))
    feed.asked.clear()
    counts = run_once(hub, tmp_path, url=url)
    assert counts == {"published": 1, "duplicate": 0, "rejected": 0, "signalled": 0}
    assert feed.asked == ["/feed.atom", "/alerts/later.xml"]
    hazards = [orjson.loads(r.value)["data"]["hazard"] for r in read(hub, topics.safety, 3)]
    assert hazards[-1] == "Tunnel flooding"


def test_cli_reads_a_folder(hub: Hub, tmp_path: Path) -> None:
    inbox = tmp_path / "cli-inbox"
    inbox.mkdir()
    (inbox / "a.xml").write_bytes(cap("CLI-1", info("Smoke", "Fire")))
    (inbox / "b.xml").write_bytes(b"<not-closed")
    result = hub.run("connector", "run", "cap", "--path", str(inbox), "--language", "en")
    assert result.returncode == 1, result.stderr  # a finite input with rejects fails
    assert "cap: published 1, duplicates 0, rejected 1" in result.stderr
    bad = hub.run("connector", "run", "cap")
    assert bad.returncode != 0
    assert "exactly one of --path and --url" in bad.stderr
