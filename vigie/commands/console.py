"""``vigie console``: the ops console against the configured Kafka, ClickHouse and workers.

``vigie run`` serves the same console beside the embedded pipeline; this command is
for a deployed one (or for the data a finished ``vigie run`` left in this directory).
ClickHouse is opened read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from base.settings import load_settings
from core.brands import BrandDirectory
from sinks.clickhouse import ClickHouse, QueryResult, connect
from vigie.commands.ops import RUN_FILE, local_pipeline
from vigie.console.web import console_for, listen, serve, url_of

log = logging.getLogger(__name__)
console = Console()


class ReadOnly:
    """Queries on a read-only ClickHouse connection, one at a time in a thread of their own
    (the clients block)."""

    def __init__(self, ch: ClickHouse) -> None:
        self.ch = ch
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="vigie-console-clickhouse")

    async def query(self, sql: str, params: dict[str, Any] | None = None) -> QueryResult:
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, self.ch.query, sql, params)

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        self.ch.close()


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


async def _until_terminated(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` until it ends, Ctrl-C, or SIGTERM (what an orchestrator sends to
    stop a service): each stops it the same clean way."""
    task = asyncio.ensure_future(work)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def console_command(
    worker: Annotated[list[str] | None, typer.Option(
        "--worker", help="Worker web address whose /status the page shows, e.g. "
        "http://host:6066 (repeat for several; default: VIGIE_CONSOLE__WORKERS, else "
        "VIGIE_WEB_HOST:VIGIE_WEB_PORT).")] = None,
    host: Annotated[str | None, typer.Option(help="Listen address (VIGIE_CONSOLE__HOST).")]
    = None,
    port: Annotated[int | None, typer.Option(help="Listen port (VIGIE_CONSOLE__PORT).")] = None,
) -> None:
    """Serve the ops console: live streams, alerts and why, task queues, pipeline health."""
    settings = load_settings()
    if settings.clickhouse.embedded and RUN_FILE.exists():
        local_pipeline()  # a stale file is reported as such
        address = orjson.loads(RUN_FILE.read_bytes()).get("console")
        console.print(f"the `vigie run` of this directory serves the console at {address}")
        return
    host = host or settings.console.host
    if not _loopback(host):
        log.warning("the console has no login: whoever reaches %s reads the streams "
                    "(masked) and the alerts", host)
    sock = listen(host, settings.console.port if port is None else port)
    reads = ReadOnly(connect(settings.clickhouse, readonly=True))
    page = console_for(settings, reads.query, BrandDirectory.load(settings.brands_file),
                       workers=worker)
    console.print(f"console: [bold cyan]{url_of(sock)}[/] — serving until Ctrl-C (or SIGTERM)")
    try:
        asyncio.run(_until_terminated(serve(page, sock)))
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        reads.close()
