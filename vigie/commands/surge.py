"""Offline surge commands: ``vigie detect`` and ``vigie eval-surge``.

``detect`` runs the stream's chain (exact dedup, near-dup, classify what is
missing, surge detector) on a normalized-event JSONL file and writes one alert per
line. ``eval-surge`` replays the scripted scenarios and checks the detection
targets; it exits non-zero when one is missed, so CI can run it as is.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from streams.classify import default_classifier
from streams.surge.evaluate import median_delay, missed_targets, run_all
from streams.surge.pipeline import SurgePipeline, sentiment_from

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
) -> None:
    """Normalized events in, alert JSONL out (same dedup and detector as the stream)."""
    pipeline = SurgePipeline(sentiment=sentiment_from(default_classifier()))
    if file == "-":
        bad = _detect_stream(sys.stdin.buffer, sys.stdout.buffer, pipeline)
    else:
        with Path(file).open("rb") as source:
            bad = _detect_stream(source, sys.stdout.buffer, pipeline)
    sys.stdout.buffer.flush()
    err.print(
        f"{pipeline.events} events, {pipeline.deduper.duplicates} repeats dropped, "
        f"{pipeline.spam_wave} in spam waves, {pipeline.detector.late} late, {bad} bad lines",
        highlight=False,
    )


def eval_surge(
    seed: Annotated[int, typer.Option(help="Scenario seed.")] = 0,
    workers: Annotated[int, typer.Option(help="Scenarios replayed in parallel.")] = 1,
) -> None:
    """Replay the scripted scenarios; print recall, false positives, duplicates, delays."""
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
    missed = missed_targets(results)
    for line in missed:
        err.print(f"[red]target missed[/red]: {line}")
    if missed:
        raise typer.Exit(1)
    out.print("[green]all targets met[/green]")
