"""Commands that run the pipeline or reach its ClickHouse: run, worker, sql, migrate."""

from __future__ import annotations

import asyncio
import io
import logging
import signal
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from base.settings import load_settings
from sinks.clickhouse import connect
from sinks.migrate import migrate as apply_migrations
from sinks.migrate import retention_of
from vigie.terminal import literal

console = Console()


def run(
    events: Annotated[int | None, typer.Option(help="Stop once N simulated events are in.")]
    = None,
    rate: Annotated[float | None, typer.Option(help="Simulated events per second.")] = None,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 0,
    serve: Annotated[bool, typer.Option(
        "--serve", help="With --events: once done, keep serving the console until Ctrl-C.")]
    = False,
) -> None:
    """Run everything on the embedded stack (local broker + ClickHouse) with sample traffic,
    and the ops console beside it (its address is printed)."""
    from vigie.runner import run_embedded

    if events is None and rate is None:
        rate = 200.0
    code = run_embedded(load_settings(), events=events, rate=rate, seed=seed, console=console,
                        stay=serve)
    raise typer.Exit(code)


def worker() -> None:
    """Run the stream worker against the configured Kafka and ClickHouse (production)."""
    import faust

    from streams.app import create_app

    settings = load_settings()
    logging.getLogger().setLevel(settings.log_level)
    app, services = create_app(settings)
    apply_migrations(services.writer.ch, retention=retention_of(settings.clickhouse))
    worker_ = faust.Worker(app, loglevel=settings.log_level,
                           override_logging=False)  # the CLI set up logging
    signal.signal(signal.SIGUSR1, lambda *_: _log_task_stacks(worker_.loop))
    try:
        worker_.execute_from_commandline()
    except SystemExit as stop:
        code = stop.code
    else:
        code = 0
    finally:
        # Close ClickHouse before the interpreter tears down: the embedded engine
        # crashes the process (SIGSEGV) when its session is left to the exit handlers.
        services.writer.close()
        services.writer.ch.close()
    raise typer.Exit(int(code or 0))


def _log_task_stacks(loop: asyncio.AbstractEventLoop) -> None:
    """``kill -USR1 <worker pid>``: where each coroutine of a stalled worker waits."""
    out = io.StringIO()
    for task in asyncio.all_tasks(loop):
        task.print_stack(limit=8, file=out)
    logging.getLogger("vigie.worker").warning("coroutine stacks:\n%s", out.getvalue())


def sql(
    query: Annotated[str, typer.Argument(help="SQL to run on the configured ClickHouse.")],
    write: Annotated[bool, typer.Option(
        "--write", help="Allow writes and schema changes (read-only otherwise).")] = False,
) -> None:
    """Run one query on the configured ClickHouse (server or embedded) and print a table.

    The connection is read-only (``readonly=1``) unless ``--write`` is given; values are
    printed literally (message texts are data, never markup or terminal codes)."""
    try:
        ch = connect(load_settings().clickhouse, readonly=not write)
        try:
            result = ch.query(query)
        finally:
            ch.close()
    except Exception as exc:  # the query's error, for the person who typed it
        Console(stderr=True).print(literal(f"error: {exc}"))
        raise typer.Exit(1) from None
    table = Table()
    for column in result.columns:
        table.add_column(literal(column))
    for row in result.rows:
        table.add_row(*(literal(v) for v in row))
    console.print(table)


def migrate() -> None:
    """Apply pending ClickHouse migrations from deploy/clickhouse (idempotent)."""
    settings = load_settings().clickhouse
    ch = connect(settings)
    try:
        applied = apply_migrations(ch, on_applied=lambda m: console.print(f"applied {m.path.name}"),
                                   retention=retention_of(settings))
    finally:
        ch.close()
    console.print(f"{len(applied)} migration(s) applied; schema up to date.")
