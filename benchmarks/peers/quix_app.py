"""The hydrogen-leak rule as a Quix Streams 3 application, written the way its docs teach.

Readings are keyed by site_id on the safety topic already (as the hub publishes them), so
no re-keying is needed. Event time comes from the CloudEvent's `time` through the topic's
timestamp extractor; a sliding 60 s window counts the readings >= 4000 ppm per site, with a
grace period of the city pack's lateness (5 min); a stateful step fires once per episode.
The other two event topics are read and decoded as well, so every contender consumes the
same records. Run in its own virtualenv (Quix Streams pins pydantic below the hub's floor):

    BENCH_BOOTSTRAP=... BENCH_TOPICS=a,b,c BENCH_ALERTS=... BENCH_GROUP=... \
    BENCH_EXPECTED=N BENCH_RESULT=path BENCH_STATE_DIR=dir python -m benchmarks.peers.quix_app
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from quixstreams import Application, State

from benchmarks.peers.shared import (
    LATENESS_S,
    LEAK_COUNT,
    WINDOW_S,
    Clock,
    env,
    event_seconds,
    is_leak_reading,
)


def event_time(value: Any, _headers: Any, _timestamp: int, _type: Any) -> int:
    return int(event_seconds(value) * 1000)


def main() -> None:
    clock = Clock(int(env("BENCH_EXPECTED")), Path(env("BENCH_RESULT")))
    app = Application(
        broker_address=env("BENCH_BOOTSTRAP"),
        consumer_group=env("BENCH_GROUP"),
        auto_offset_reset="earliest",
        state_dir=env("BENCH_STATE_DIR"),
        loglevel="WARNING",
    )
    safety, *others = env("BENCH_TOPICS").split(",")
    alerts = app.topic(env("BENCH_ALERTS"), value_serializer="json")

    def count(_value: Any) -> None:
        clock.tick()

    def once_per_episode(window: dict[str, Any], state: State) -> dict[str, Any] | None:
        """The window's count reaches 3 on the third reading and stays there on the next
        ones: fire on the first, until a reading comes a window after it."""
        fired_until = state.get("fired_until", 0)
        if window["end"] <= fired_until:
            return None
        state.set("fired_until", window["end"] + int(WINDOW_S * 1000))
        return window

    def as_alert(window: dict[str, Any], key: bytes, *_: Any) -> dict[str, Any]:
        return {"rule": "hydrogen-leak", "key": key.decode(), "count": window["value"]}

    (
        app.dataframe(app.topic(safety, value_deserializer="json", timestamp_extractor=event_time))
        .update(count)
        .filter(is_leak_reading)
        .sliding_window(duration_ms=int(WINDOW_S * 1000), grace_ms=int(LATENESS_S * 1000))
        .count()
        .current()
        .filter(lambda window: window["value"] >= LEAK_COUNT)
        .apply(once_per_episode, stateful=True)
        .filter(lambda window: window is not None)
        .apply(as_alert, metadata=True)
        .to_topic(alerts)
    )
    for name in others:
        app.dataframe(app.topic(name, value_deserializer="json")).update(count).filter(
            lambda _value: False
        )
    app.run()


if __name__ == "__main__":
    main()
