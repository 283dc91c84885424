"""The hydrogen-leak rule as a minimal Faust agent with one table.

One agent reads the three event topics as raw bytes, decodes each record with orjson, and
keeps per site the times of its recent readings >= 4000 ppm in a table (its changelog on
Kafka, as Faust does by default); three within 60 s send one alert. Settings come from the
environment (see `benchmarks.peers.quix_app`):

    python -m benchmarks.peers.faust_app worker -l warn
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
import orjson

from benchmarks.peers.shared import Clock, env, event_seconds, is_leak_reading, leak_step

clock = Clock(int(env("BENCH_EXPECTED")), Path(env("BENCH_RESULT")))
app = faust.App(
    env("BENCH_GROUP"),
    broker=f"kafka://{env('BENCH_BOOTSTRAP')}",
    store="memory://",
    datadir=env("BENCH_STATE_DIR"),
    topic_partitions=int(env("BENCH_PARTITIONS")),
    consumer_auto_offset_reset="earliest",
    web_enabled=False,
)
sources = app.topic(*env("BENCH_TOPICS").split(","), key_serializer="raw", value_serializer="raw")
alerts = app.topic(env("BENCH_ALERTS"), key_serializer="raw", value_serializer="raw")
sites = app.Table("leak-sites", default=lambda: {"times": [], "fired_until": 0.0})


@app.agent(sources)
async def leak(stream: Any) -> None:
    async for event in stream.events():
        value = orjson.loads(event.value)
        if is_leak_reading(value):
            site = event.key.decode()
            entry = sites[site]
            times, fired_until, fire = leak_step(
                entry["times"], entry["fired_until"], event_seconds(value)
            )
            sites[site] = {"times": times, "fired_until": fired_until}
            if fire:
                body = {"rule": "hydrogen-leak", "key": site, "count": len(times)}
                await alerts.send(key=event.key, value=orjson.dumps(body))
        clock.tick()


if __name__ == "__main__":
    app.main()
