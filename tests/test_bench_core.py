"""The core benchmark measures real work: its backlog fires the leaks it plants, in both packs."""

from __future__ import annotations

from benchmarks.bench_core import hydrogen_only, readings, run
from hub.correlate.pack import load_pack
from hub.stream.core import StreamCore


def test_every_planted_leak_fires_with_the_city_pack_and_hydrogen_only() -> None:
    records = readings(3_000, 300)  # ten rounds; sites 0, 97, 194 and 291 leak
    city = load_pack()
    for pack in (city, hydrogen_only(city)):
        core = StreamCore(pack, lateness_s=pack.lateness.total_seconds())
        out = core.process(records)
        fired = {s.key for s in out.sends if s.kind == "alert"}
        assert len(fired) == 4, fired  # one alert id per leaking site
    _, alerts = run(hydrogen_only(city), records, 500)
    assert alerts > 0


def test_the_hydrogen_only_pack_holds_one_rule() -> None:
    assert [r.name for r in hydrogen_only(load_pack()).rules] == ["hydrogen-leak"]
