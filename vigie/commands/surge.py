"""Offline surge commands: ``vigie detect``, ``vigie history`` and ``vigie eval-surge``.

``detect`` runs the stream's chain (exact dedup, near-dup, classify what is
missing, surge detector) on a normalized-event JSONL file and writes one alert per
line, after learning from ``--history`` counts if given; ``history`` writes those
counts from ClickHouse. ``eval-surge`` replays the scripted scenarios (or random
families) and checks the detection targets; it exits non-zero when one is missed,
so CI can run it as is.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from base.settings import load_settings
from core.classify import default_classifier
from core.surge.history import HISTORY_SQL, count, day_params, read_counts
from core.surge.pipeline import SurgePipeline, sentiment_from
from lab.surge import random_eval as ev
from lab.surge.evaluate import median_delay, missed_targets, run_all
from sinks.clickhouse import connect

err = Console(stderr=True, soft_wrap=True)
out = Console(width=110)


def _detect_stream(source: IO[bytes], sink: IO[bytes], pipeline: SurgePipeline) -> int:
    """Alerts for every event line of ``source`` into ``sink``; returns the bad lines."""
    bad = 0
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
            alerts = pipeline.feed_record(record)
        except Exception as exc:  # a bad line is reported, never fatal
            bad += 1
            err.print(f"line {number}: {exc}", markup=False, highlight=False)
            continue
        for alert in alerts:
            sink.write(orjson.dumps(alert.model_dump(mode="json", by_alias=True)) + b"\n")
    return bad


def detect(
    file: Annotated[
        str, typer.Argument(help="Normalized-event JSONL in event-time order; - for stdin.")
    ] = "-",
    history: Annotated[Path | None, typer.Option(
        help="Per-minute counts JSONL (what `vigie history` writes) the detector learns "
        "its baselines from before the first event, as a worker does from ClickHouse.")
    ] = None,
) -> None:
    """Normalized events in, alert JSONL out (same dedup and detector as the stream)."""
    counts = None
    if history is not None:
        with history.open("rb") as lines:
            counts = list(read_counts(lines))
    pipeline = SurgePipeline(sentiment=sentiment_from(default_classifier()), history=counts)
    if file == "-":
        bad = _detect_stream(sys.stdin.buffer, sys.stdout.buffer, pipeline)
    else:
        with Path(file).open("rb") as source:
            bad = _detect_stream(source, sys.stdout.buffer, pipeline)
    sys.stdout.buffer.flush()
    learned = f"{pipeline.history_minutes} minutes of history, " if history else ""
    err.print(
        f"{learned}{pipeline.events} events, {pipeline.deduper.duplicates} repeats dropped, "
        f"{pipeline.spam_wave} in spam waves, {pipeline.detector.late} late, {bad} bad lines",
        highlight=False,
    )


def history(
    days: Annotated[int, typer.Option(help="Days of counts, ending at --until.")] = 14,
    until: Annotated[str | None, typer.Option(
        help="ISO-8601 end (excluded), UTC by default; now if unset.")] = None,
) -> None:
    """Per-minute counts from the configured ClickHouse as JSONL, for `vigie detect
    --history` (the rows a worker with an empty detector learns from at start)."""
    end = datetime.now(UTC) if until is None else datetime.fromisoformat(until)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    last = int(end.timestamp() // 60)
    ch = connect(load_settings().clickhouse)
    try:
        for back in range(days, 0, -1):
            for row in ch.query(HISTORY_SQL, day_params(last, back)).rows:
                minute, brand, platform, sentiment, events = count(*row)
                sys.stdout.buffer.write(orjson.dumps({
                    "minute": datetime.fromtimestamp(minute * 60, UTC).isoformat(),
                    "brand": brand or "", "platform": platform, "sentiment": sentiment,
                    "events": int(events)}) + b"\n")
    finally:
        ch.close()
    sys.stdout.buffer.flush()


def eval_surge(
    seed: Annotated[int, typer.Option(help="Scenario seed.")] = 0,
    workers: Annotated[int, typer.Option(help="Scenarios replayed in parallel.")] = 1,
    random: Annotated[int, typer.Option(
        "--random", help="Score N random scenario families drawn from --seed instead of "
        "the scripted scenarios.")] = 0,
    verbose: Annotated[bool, typer.Option(
        help="With --random: every family, its misses, duplicates and false positives.")] = False,
) -> None:
    """Replay scenarios; print recall, false positives, duplicates and delays; exit 1 if a
    target is missed."""
    missed = _random_report(random, seed, workers, verbose) if random \
        else _scripted_report(seed, workers)
    for line in missed:
        err.print(f"[red]target missed[/red]: {line}")
    if missed:
        raise typer.Exit(1)
    out.print("[green]all targets met[/green]")


def _scripted_report(seed: int, workers: int) -> list[str]:
    results = run_all(seed, workers)
    table = Table(title=f"surge detection on scenarios (seed {seed})")
    for column in ("scenario", "events", "incid.", "recall", "FP", "dup", "delay min",
                   "ev/s"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for result in results:
        delays = ", ".join(
            "missed" if d is None else f"{d.total_seconds() / 60:.1f}" for d in result.delays
        )
        table.add_row(
            result.name, f"{result.events:,}", str(len(result.incidents)),
            f"{result.recall:.0%}", str(result.false_positives), str(result.duplicate_opens),
            delays or "-", f"{result.events / result.seconds:,.0f}",
        )
    out.print(table)
    median = median_delay(results)
    out.print(f"median detection delay: {median}" if median else "no incident detected")
    return missed_targets(results)


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _random_report(count: int, seed: int, workers: int, verbose: bool) -> list[str]:
    results = ev.run_families(count, seed, workers)
    if verbose:
        for result in results:
            _print_family(result)
    s = ev.summarize(results)
    out.print(
        f"{s.families} random families from seed {seed}: {s.brands} brands, "
        f"{s.events:,} events ({s.events / max(s.seconds, 1e-9):,.0f} events/s replayed), "
        f"{s.brand_weeks:.1f} brand-weeks; {s.incidents} incidents, {s.required} within "
        f"the recall bar (x4+ for 15 min with 30+ messages, or an outage of 30+ messages "
        f"in 15 min, after 2+ hours)")
    out.print(
        f"recall {s.required_found}/{s.required} = {s.recall:.1%}   "
        f"false positives {s.false_positives} = {s.fp_rate:.2f} per brand-week "
        f"({s.spike_fp} spikes, {s.silence_fp} silences, {s.bot_fp} on bot waves)   "
        f"duplicate opens {s.duplicates}   delay p50 "
        f"{_minutes(ev.percentile(s.delays, 0.5))} min, p90 "
        f"{_minutes(ev.percentile(s.delays, 0.9))} min")
    _print_groups("by incident type (night: sharp spikes starting at night, also in their type)",
                  ev.by_type(results), {k: f"<= {v:g}" for k, v in ev.TYPE_DELAY.items()})
    _print_groups("by warm-up (recall of incidents of the bar's size; under 2 h: not "
                  "required)", ev.by_warmup(results), {})
    table = Table(title="false positives by brand volume")
    for column in ("volume", "brand-weeks", "spike FP", "per brand-week"):
        table.add_column(column, justify="right")
    for label, fps, weeks in ev.fp_by_volume(results):
        table.add_row(label, f"{weeks:.1f}", str(fps), f"{fps / weeks:.2f}" if weeks else "-")
    table.add_row("silences (global)", f"{s.weeks:.1f} weeks", str(s.silence_fp),
                  f"{s.silence_fp / s.weeks:.2f} per week" if s.weeks else "-")
    out.print(table)
    table = Table(title="distractors (must not alert)")
    for column in ("type", "count", "with an open"):
        table.add_column(column, justify="right")
    for kind, (seen, alerted) in sorted(ev.distractors(results).items()):
        table.add_row(kind, str(seen), str(alerted))
    out.print(table)
    return ev.missed_targets(results)


def _print_groups(title: str, groups: list[ev.Group], targets: dict[str, str]) -> None:
    table = Table(title=title)
    for column in ("group", "incidents", "found", "in bar", "found", "recall", "p50 min",
                   "p90 min", "target"):
        table.add_column(column, justify="left" if column == "group" else "right")
    for g in groups:
        table.add_row(
            g.label, str(g.incidents), str(g.found), str(g.required), str(g.required_found),
            "-" if g.recall is None else f"{g.recall:.0%}",
            _minutes(ev.percentile(g.delays, 0.5)), _minutes(ev.percentile(g.delays, 0.9)),
            targets.get(g.label, ""))
    out.print(table)


def _print_family(result: ev.FamilyResult) -> None:
    out.print(f"[bold]{result.name}[/bold]: {len(result.volumes)} brands, "
              f"{result.events:,} events, {result.brand_weeks:.2f} brand-weeks",
              highlight=False)
    for truth, delay in result.delays:
        found = "MISSED" if delay is None else f"{delay:.1f} min"
        out.print(f"  {truth.type} {truth.brand or '+'.join(truth.platforms)} "
                  f"{truth.polarity or ''} x{truth.size:.1f} {truth.rate:.1f}/h warm-up "
                  f"{truth.warmup / 60:.1f} h{' night' if truth.night else ''}"
                  f"{' required' if truth.required else ''}: {found}", highlight=False)
    for truth in result.duplicates:
        out.print(f"  duplicate open on {truth.type} {truth.brand or truth.platforms}",
                  highlight=False)
    for distractor, opens in result.distractor_opens:
        out.print(f"  {distractor.type} {distractor.brand} x{distractor.size:.1f}: "
                  f"{opens} open(s)", highlight=False)
    for fp in result.false_positives:
        out.print(f"  false positive {fp.kind.value} {fp.brand or '+'.join(fp.platforms)} "
                  f"{fp.polarity or ''} at +{fp.minute:.0f}", highlight=False)
