"""Throughput of the batch stream core (hub/stream/core.py) without Kafka or Faust.

The same hydrogen readings (many sites, a few of them leaking) go through `StreamCore.process`
in batches, with the whole `city` pack and with a pack holding only hydrogen-leak: the ceiling
of the hub's own work per event once Faust's per-record path is gone.

    .venv/bin/python -m benchmarks.bench_core [--events 100000] [--batch 1000] [--runs 3]

It prints a table with each pack's ratio to an orjson decode-only loop measured in the same
rounds, and writes benchmarks/results/bench_core-*.json.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from benchmarks.common import (
    Summary,
    add_common_arguments,
    fmt,
    fmt_summary,
    make_console,
    positive,
    print_table,
    ratios,
    write_json,
)
from hub.correlate.pack import load_pack
from hub.correlate.spec import RulePack
from hub.stream.core import Record, StreamCore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TOPIC = "onenet.events.safety"


def readings(count: int, sites: int) -> list[Record]:
    """One reading a site in turn, a second apart per round; every 97th leaks (5000 ppm)."""
    out: list[Record] = []
    for i in range(count):
        site = f"H2-{i % sites:05d}"
        leaking = (i % sites) % 97 == 0
        doc = {
            "specversion": "1.0",
            "id": f"e{i}",
            "source": "urn:onenet:connector:bench",
            "type": "city.safety.hydrogen.reading",
            "time": (T0 + timedelta(seconds=i // sites)).isoformat(),
            "district": "310115",
            "data": {
                "site_id": site,
                "sensor_id": "s",
                "h2_ppm": 5000.0 if leaking else 12.0,
                "location": {"lat": 31.2, "lon": 121.5},
            },
        }
        out.append(Record(TOPIC, i % 6, i, site.encode(), json.dumps(doc).encode()))
    return out


def hydrogen_only(pack: RulePack) -> RulePack:
    return pack.model_copy(update={"rules": [r for r in pack.rules if r.name == "hydrogen-leak"]})


def run(pack: RulePack, records: list[Record], batch: int) -> tuple[float, int]:
    """(events/s, alert records) of one pass on a fresh core."""
    core = StreamCore(pack, lateness_s=pack.lateness.total_seconds())
    alerts = 0
    started = time.perf_counter()
    for i in range(0, len(records), batch):
        out = core.process(records[i : i + batch])
        alerts += sum(1 for s in out.sends if s.kind == "alert")
    return len(records) / (time.perf_counter() - started), alerts


def decode_only(records: list[Record]) -> float:
    """Baseline: events/s of decoding every value with orjson and nothing else."""
    started = time.perf_counter()
    for r in records:
        orjson.loads(r.value)
    return len(records) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=positive, default=100_000)
    parser.add_argument("--sites", type=positive, default=2_000)
    parser.add_argument("--batch", type=positive, default=1_000)
    add_common_arguments(parser, runs=3)
    args = parser.parse_args()
    records = readings(args.events, args.sites)
    city = load_pack()
    packs = {"city": city, "hydrogen-leak": hydrogen_only(city)}
    baseline: list[float] = []
    figures: dict[str, list[float]] = {name: [] for name in packs}
    alerts: dict[str, int] = {}
    for _ in range(args.runs):  # interleaved, so every contender sees the same machine load
        baseline.append(decode_only(records))
        for name, pack in packs.items():
            rate, alerts[name] = run(pack, records, args.batch)
            figures[name].append(rate)
    base = Summary.of(baseline)
    rows = [["orjson decode only (baseline)", fmt_summary(base), "1.000", "-"]]
    results: dict[str, Any] = {"baseline": base.to_json(), "packs": {}}
    for name, rates in figures.items():
        rate, ratio = Summary.of(rates), Summary.of(ratios(rates, baseline))
        rows.append([name, fmt_summary(rate), fmt(ratio.median, 3), str(alerts[name])])
        results["packs"][name] = {
            "events_per_s": rate.to_json(),
            "ratio_to_baseline": ratio.to_json(),
            "alert_records": alerts[name],
        }
    print_table(
        make_console(),
        f"Batch stream core, {args.events:,} readings, batches of {args.batch:,}",
        ["contender", "events/s median (min–max)", "× baseline", "alert records"],
        rows,
    )
    params = {"events": args.events, "sites": args.sites, "batch": args.batch, "runs": args.runs}
    write_json("bench_core", {"parameters": params, **results}, args.results_dir)


if __name__ == "__main__":
    main()
