"""``vigie bench``: throughput, latency and memory of the pipeline next to its baselines."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Literal

import orjson
import typer
from rich.console import Console

console = Console()


def bench(
    events: Annotated[int, typer.Option(help="Backlog size of each throughput scenario.")]
    = 100_000,
    json: Annotated[Path | None, typer.Option("--json", help="Write the results here.")] = None,
    rate: Annotated[float, typer.Option(help="Sustained rate of the latency run.")] = 2000.0,
    seconds: Annotated[float, typer.Option(help="Length of the latency run.")] = 20.0,
    rss_keys: Annotated[int, typer.Option(help="Dedup keys of the memory check (0: skip).")]
    = 1_000_000,
    loop: Annotated[str, typer.Option(help="Event loop of every scenario: asyncio|uvloop.")]
    = "asyncio",
) -> None:
    """Benchmark on the embedded stack: bare aiokafka, naive Faust and vigie, side by side."""
    from vigie.bench.harness import run

    if loop not in ("asyncio", "uvloop"):
        raise typer.BadParameter("asyncio or uvloop", param_hint="--loop")
    chosen: Literal["asyncio", "uvloop"] = "uvloop" if loop == "uvloop" else "asyncio"
    doc = asyncio.run(run(events, rate, seconds, rss_keys, chosen, console))
    if json is not None:
        json.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        console.print(f"results written to {json}")
