"""``vigie bench``: throughput, latency and memory of the pipeline next to its baselines."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Literal

import orjson
import typer
from rich.console import Console

console = Console()
# The machinery scenario holds every output of its backlog in memory (its size:
# docs/performance.md, round 12).
MACHINERY_MAX_EVENTS = 200_000


def bench(
    events: Annotated[int, typer.Option(help="Backlog size of each throughput scenario.")]
    = 100_000,
    json: Annotated[Path | None, typer.Option("--json", help="Write the results here.")] = None,
    load: Annotated[float, typer.Option(
        help="Rate of the latency runs, as a share of one worker's throughput measured on "
        "the backlog first.")] = 0.5,
    rate: Annotated[float | None, typer.Option(
        help="A fixed rate for the latency runs instead (events/s).")] = None,
    seconds: Annotated[float, typer.Option(help="Length of the latency run.")] = 20.0,
    rss_keys: Annotated[int, typer.Option(help="Dedup keys of the memory check (0: skip).")]
    = 1_000_000,
    loop: Annotated[str, typer.Option(help="Event loop of every scenario: asyncio|uvloop.")]
    = "asyncio",
    machinery: Annotated[bool, typer.Option(
        "--machinery", help="Also one worker whose stages are computed before it starts: "
        "the streaming machinery alone, the ceiling of a faster pipeline (holds the "
        "backlog's outputs in memory: 200,000 events at most).")] = False,
    soak: Annotated[int, typer.Option(
        help="Instead: one worker drains a backlog of this many records to the end (private "
        "RSS over time, longest event-loop hold, every valid event stored, one task id per "
        "event); exits 1 if any check fails.")] = 0,
) -> None:
    """Benchmark on the embedded stack: bare aiokafka, naive Faust and vigie, side by side."""
    from vigie.bench.harness import run, soak_failures, soak_run

    if loop not in ("asyncio", "uvloop"):
        raise typer.BadParameter("asyncio or uvloop", param_hint="--loop")
    if not 0 < load <= 1:
        raise typer.BadParameter("a share in (0, 1]", param_hint="--load")
    if machinery and events > MACHINERY_MAX_EVENTS:
        raise typer.BadParameter(
            f"it holds every output in memory: at most {MACHINERY_MAX_EVENTS:,} events",
            param_hint="--machinery")
    chosen: Literal["asyncio", "uvloop"] = "uvloop" if loop == "uvloop" else "asyncio"
    if soak:
        doc = asyncio.run(soak_run(soak, chosen, console))
    else:
        doc = asyncio.run(run(events, rate, load, seconds, rss_keys, chosen, console,
                              machinery))
    if json is not None:
        json.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        console.print(f"results written to {json}")
    if soak and (failures := soak_failures(doc)):
        console.print(f"[red]soak failed: {'; '.join(failures)}[/]")
        raise typer.Exit(1)
