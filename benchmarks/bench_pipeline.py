"""Throughput of the worker's pure pipeline, stage by stage, without Kafka.

On N simulator events (background plus every scenario), each stage does everything the one
before it does, and more:

    baseline   orjson.loads of the raw record bytes
    parse      hub.events.parse_structured (envelope and data validated with pydantic)
    fact       + Fact.of (what the rules keep of an event)
    correlate  + Correlator.routes / observe / advance with the whole `city` pack on a
               MemoryStore, watermarks kept as the worker keeps them

Stages run interleaved, R times each; figures are medians with min–max, and ratios to the
baseline are taken run by run. The correlate stage is then profiled once with cProfile.

    .venv/bin/python -m benchmarks.bench_pipeline [--events 50000] [--runs 5]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from benchmarks.common import (
    REPO_ROOT,
    Summary,
    add_common_arguments,
    fmt,
    fmt_summary,
    make_console,
    make_progress,
    phase,
    plot_rates,
    positive,
    print_table,
    rates,
    ratios,
    report_files,
    timed,
    write_json,
    write_plot,
)
from connectors.simulator import SCENARIOS, generate, to_cloudevent
from hub.correlate.correlator import Correlator, MemoryStore
from hub.correlate.fact import Fact
from hub.correlate.pack import load_pack
from hub.correlate.spec import RulePack
from hub.correlate.watermark import Watermark
from hub.events import parse_structured
from hub.stream.routing import direct_rules
from hub.topics import DOMAINS

NAME = "pipeline"
START = datetime(2026, 1, 1, tzinfo=UTC)


def make_events(
    count: int, *, seed: int, time_scale: float, on_event: Callable[[], None] | None = None
) -> list[bytes]:
    """`count` simulator events (background + every scenario) as structured-mode bytes."""
    out: list[bytes] = []
    drafts = generate(
        seed, count=count, scenarios=list(SCENARIOS), start_time=START, time_scale=time_scale
    )
    for draft in drafts:
        out.append(orjson.dumps(to_cloudevent(draft)))
        if on_event is not None:
            on_event()
    return out


# --- the stages ------------------------------------------------------------------------------


def stage_baseline(raws: Sequence[bytes]) -> None:
    loads = orjson.loads
    for raw in raws:
        loads(raw)


def stage_parse(raws: Sequence[bytes]) -> None:
    for raw in raws:
        parse_structured(raw)


def stage_fact(raws: Sequence[bytes]) -> None:
    of = Fact.of
    for raw in raws:
        of(parse_structured(raw))


@dataclass
class CorrelateResult:
    outcomes: Counter[str] = field(default_factory=Counter)
    alert_changes: Counter[str] = field(default_factory=Counter)
    advances: int = 0


class StreamClock:
    """Watermarks as the worker keeps them, for one reader of every domain topic in order.

    Direct rules (keyed like their topic) use their domain topic's watermark; the others
    (re-keyed in the worker) use the slowest of the domain watermarks once every domain has
    spoken, and the event's own time minus the lateness before that, as `on_rekeyed` does.
    A backlog is never idle, so the wall clock never stands in.
    """

    def __init__(self, pack: RulePack) -> None:
        self.lateness = pack.lateness
        self.direct = direct_rules(pack)
        self.domains = {
            d: Watermark(self.lateness, clock=lambda: START, caught_up=lambda: False)
            for d in DOMAINS
        }

    def observe(self, domain: str, time: datetime) -> datetime:
        wm = self.domains[domain]
        wm.observe(time)
        current = wm.current()
        assert current is not None  # the time was just observed
        return current

    def shuffled(self) -> datetime | None:
        values = [w.current() for w in self.domains.values()]
        return None if any(v is None for v in values) else min(v for v in values if v)

    def for_rule(self, rule: str) -> datetime | None:
        domain = self.direct.get(rule)
        return self.domains[domain].current() if domain else self.shuffled()


def stage_correlate(raws: Sequence[bytes], pack: RulePack, advance_every: int) -> CorrelateResult:
    """Parse, Fact.of, then every rule the fact routes to; time advances every
    `advance_every` events (the worker's 2 s tick timer) and once at the end."""
    correlator = Correlator(pack, MemoryStore())
    clock = StreamClock(pack)
    direct = clock.direct
    result = CorrelateResult()
    outcomes, changed = result.outcomes, result.alert_changes

    def advance() -> None:
        result.advances += 1
        for rule, key in list(correlator.due(clock.for_rule)):
            wm = clock.for_rule(rule)
            if wm is not None:
                for change in correlator.advance(rule, key, wm):
                    changed[change.kind] += 1

    for n, raw in enumerate(raws, start=1):
        event = parse_structured(raw)
        fact = Fact.of(event)
        wm = clock.observe(event.domain, fact.time)
        for rule, route in correlator.routes(fact):
            rule_wm = wm if rule in direct else (clock.shuffled() or fact.time - clock.lateness)
            outcome, changes = correlator.observe(rule, fact, route, rule_wm)
            outcomes[outcome] += 1
            for change in changes:
                changed[change.kind] += 1
        if n % advance_every == 0:
            advance()
    advance()
    return result


# --- profile ---------------------------------------------------------------------------------


def _where(filename: str, line: int, func: str) -> str:
    if filename == "~":
        return func  # a built-in, e.g. {method 'get' of 'dict' objects}
    parts = Path(filename).parts
    if "site-packages" in parts:
        shown = "/".join(parts[parts.index("site-packages") + 1 :])
    else:
        try:
            shown = str(Path(filename).resolve().relative_to(REPO_ROOT))
        except ValueError:
            shown = Path(filename).name
    return f"{shown}:{line}({func})"


def profile_correlate(
    raws: Sequence[bytes], pack: RulePack, advance_every: int, top: int
) -> list[dict[str, Any]]:
    """The `top` functions by cumulative time in one correlate run (the harness left out)."""
    profiler = cProfile.Profile()
    profiler.runcall(stage_correlate, raws, pack, advance_every)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, _), (_, _, _, ct, _) in stats.items())
    rows: list[dict[str, Any]] = []
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in sorted(
        stats.items(), key=lambda item: item[1][3], reverse=True
    ):
        if Path(filename).name == "bench_pipeline.py" or "_lsprof" in func:
            continue
        rows.append(
            {
                "function": _where(filename, line, func),
                "calls": nc,
                "own_s": tt,
                "cumulative_s": ct,
                "share": ct / total if total else 0.0,
            }
        )
        if len(rows) == top:
            break
    return rows


# --- main ------------------------------------------------------------------------------------

STAGES: tuple[tuple[str, str], ...] = (
    ("baseline", "orjson.loads of the raw bytes"),
    ("parse", "parse_structured (pydantic envelope + data)"),
    ("fact", "parse + Fact.of"),
    ("correlate", "parse + Fact.of + Correlator (city pack, MemoryStore)"),
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_pipeline",
        description="Events/s of parse, Fact.of and the city-pack correlator, without Kafka, "
        "against a baseline of orjson.loads on the same bytes.",
    )
    parser.add_argument("--events", type=positive, default=50_000, help="events [50000]")
    add_common_arguments(parser, runs=5)
    parser.add_argument(
        "--time-scale", type=float, default=60.0, help="simulated seconds per wall second [60]"
    )
    parser.add_argument(
        "--advance-every",
        type=positive,
        default=1000,
        help="events between two advances of time (the worker's tick timer) [1000]",
    )
    parser.add_argument("--profile-top", type=int, default=10, help="profile rows; 0 skips [10]")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = make_console()
    pack = load_pack()
    bench: dict[str, Callable[[Sequence[bytes]], object]] = {
        "baseline": stage_baseline,
        "parse": stage_parse,
        "fact": stage_fact,
        "correlate": lambda raws: stage_correlate(raws, pack, args.advance_every),
    }
    seconds: dict[str, list[float]] = {name: [] for name, _ in STAGES}
    with make_progress(console) as progress:
        with phase(progress, "simulating events", args.events) as step:
            raws = make_events(
                args.events, seed=args.seed, time_scale=args.time_scale, on_event=step
            )
        with phase(progress, "timing stages", args.runs * len(STAGES)) as step:
            for _ in range(args.runs):
                for name, _ in STAGES:  # interleaved: drift hits every stage alike
                    gc.collect()
                    elapsed, _result = timed(partial(bench[name], raws))
                    seconds[name].append(elapsed)
                    step()
        profile: list[dict[str, Any]] = []
        if args.profile_top > 0:
            with phase(progress, "profiling the correlate stage"):
                profile = profile_correlate(raws, pack, args.advance_every, args.profile_top)
        check = stage_correlate(raws, pack, args.advance_every)

    n = len(raws)
    base_rates = rates(n, seconds["baseline"])
    results: list[dict[str, Any]] = []
    previous_us = 0.0
    for name, what in STAGES:
        secs = Summary.of(seconds[name])
        eps = Summary.of(rates(n, seconds[name]))
        us = Summary.of([s / n * 1e6 for s in seconds[name]])
        results.append(
            {
                "case": name,
                "what": what,
                "events": n,
                "seconds": secs.to_json(),
                "events_per_s": eps.to_json(),
                "us_per_event": us.to_json(),
                "us_added": us.median - previous_us,
                "ratio": Summary.of(ratios(rates(n, seconds[name]), base_rates)).to_json(),
            }
        )
        previous_us = us.median

    rows = []
    for r in results:
        ratio = r["ratio"]
        rows.append(
            [
                r["case"],
                r["what"],
                fmt_summary(Summary.of(r["events_per_s"]["runs"])),
                f"{r['us_per_event']['median']:.2f}",
                f"{r['us_added']:+.2f}" if r["case"] != "baseline" else "",
                f"{ratio['median']:.3f}"
                + (f" ({ratio['min']:.3f}–{ratio['max']:.3f})" if args.runs > 1 else ""),
            ]
        )
    print_table(
        console,
        f"Pipeline stages: {fmt(n)} simulator events, {args.runs} runs",
        ["stage", "does", "events/s median (min–max)", "µs/event", "µs added", "× baseline"],
        rows,
        left=2,
        caption="µs/event from the median run; × baseline is the median of run-by-run ratios. "
        f"Correlate: {sum(check.outcomes.values()):,} rule observations "
        f"({dict(check.outcomes)}), {sum(check.alert_changes.values())} alert changes "
        f"({dict(check.alert_changes)}), {check.advances} advances.",
    )
    if profile:
        print_table(
            console,
            f"Correlate stage, top {len(profile)} by cumulative time (cProfile, one run)",
            ["function", "calls", "own s", "cumulative s", "share"],
            [
                [
                    p["function"],
                    fmt(p["calls"]),
                    f"{p['own_s']:.3f}",
                    f"{p['cumulative_s']:.3f}",
                    f"{p['share']:.0%}",
                ]
                for p in profile
            ],
            caption="cProfile slows Python calls several-fold; read the shares, not the seconds.",
        )

    payload: dict[str, Any] = {
        "parameters": {
            "events": n,
            "runs": args.runs,
            "seed": args.seed,
            "time_scale": args.time_scale,
            "advance_every": args.advance_every,
            "scenarios": list(SCENARIOS),
            "pack": pack.name,
            "event_bytes_mean": sum(map(len, raws)) / n,
        },
        "results": results,
        "correlate": {
            "outcomes": dict(check.outcomes),
            "alert_changes": dict(check.alert_changes),
            "advances": check.advances,
        },
        "profile": profile,
    }
    plot = None if args.no_plot else _plot(results, args.results_dir)
    payload["plot"] = str(plot) if plot else None
    path = write_json(NAME, payload, args.results_dir)
    report_files(console, path, plot, wanted=not args.no_plot)
    return 0


def _plot(results: list[dict[str, Any]], results_dir: Path) -> Path | None:
    def draw(fig: Any) -> None:
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        plot_rates(
            left,
            [r["case"] for r in results],
            [Summary.of(r["events_per_s"]["runs"]) for r in results],
            title="Throughput per stage (each includes the ones above)",
        )
        bottom = 0.0
        colours = ["#8c8c8c", "#4c72b0", "#55a868", "#c44e52"]
        for r, colour in zip(results, colours, strict=False):
            added = r["us_per_event"]["median"] - bottom
            right.bar(
                ["per event"],
                [added],
                bottom=[bottom],
                color=colour,
                label=f"{r['case']} +{added:.1f} µs",
            )
            bottom += added
        right.set_ylabel("µs per event (median run)")
        right.set_title("Where an event's time goes")
        handles, labels = right.get_legend_handles_labels()
        right.legend(handles[::-1], labels[::-1], loc="upper right", fontsize=8)  # as stacked

    return write_plot(NAME, draw, results_dir)


if __name__ == "__main__":
    sys.exit(main())
