"""The console's web server: one page, its fragments and its two live streams.

- ``/``: the page. Its sections load as fragments (``/fragments/*``, rendered here
  from templates) and refresh on their own; htmx, vendored in ``static/``, does the
  loading and the swapping.
- ``/live/messages?<filters>``: server-sent events, one per new message that passes
  the filters (``col-<column>``, the card's HTML) and a ``rate`` line every 2 s.
- ``/live/ops``: server-sent events telling the page to reload its alerts (``alert``,
  on every message of the ``alerts`` topic) and its queues (``queue``, on tasks and
  statuses, at most every 2 s).

Every page and fragment is sent with a content security policy that allows the
page's own scripts and styles only: message texts are data, escaped by the
templates' autoescaping, and could not run even if they slipped through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp_sse import sse_response
from jinja2 import Environment, PackageLoader, StrictUndefined
from pydantic import ValidationError

from base.settings import Settings
from core.brands import BrandDirectory
from schemas.events import Platform, Priority, Risk
from vigie.commands.ops import STAGE_ORDER, merge
from vigie.console.filters import NO_BRAND, Filters
from vigie.console.live import MessageStream, Tail
from vigie.console.reads import Query, Reads, time_left

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
FLUSH_S = 0.5
RATE_EVERY_S = 2.0
QUEUE_SIGNAL_EVERY_S = 2.0
STATUS_TTL_S = 1.5
MAX_LAG_ROWS = 8
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def templates() -> Environment:
    env = Environment(loader=PackageLoader("vigie.console", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["hm"] = lambda t: f"{t:%H:%M} UTC"
    env.filters["when"] = lambda t: f"{t:%d %b %H:%M:%S} UTC"
    env.filters["number"] = lambda n: f"{n:,.0f}"
    env.filters["rate"] = lambda n: f"{n:,.1f}"
    env.globals["time_left"] = time_left
    return env


class WorkerStatus:
    """The workers' ``/status`` snapshots merged as ``vigie top`` merges them, read at
    most every ``STATUS_TTL_S`` whatever the number of open pages."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    async def snapshot(self) -> dict[str, Any]:
        async with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= STATUS_TTL_S:
                self._cached = (now, await self._read())
            return self._cached[1]

    async def _read(self) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            found = await asyncio.gather(*(self._one(session, u) for u in self.urls),
                                         return_exceptions=True)
        snaps = [s for s in found if isinstance(s, dict)]
        errors = [f"{u}: {e}" for u, e in zip(self.urls, found, strict=True)
                  if isinstance(e, BaseException)]
        if not snaps:
            return {"unreachable": errors}
        return {**merge(snaps), "unreachable": errors}

    @staticmethod
    async def _one(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
        async with session.get(f"{url.rstrip('/')}/status") as response:
            response.raise_for_status()
            snapshot: dict[str, Any] = await response.json()
            return snapshot


@dataclass
class ConsoleContext:
    """What the views share."""

    reads: Reads
    tail: Tail
    status: WorkerStatus
    brands: BrandDirectory
    env: Environment = field(default_factory=templates)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def brand_name(self, key: str) -> str:
        if key in ("", NO_BRAND):
            return "no brand"
        brand = self.brands.brands.get(key)
        return brand.name if brand else key

    def render(self, template: str, **values: Any) -> str:
        return self.env.get_template(template).render(
            now=datetime.now(UTC), brand_name=self.brand_name, **values)

    def html(self, template: str, **values: Any) -> web.Response:
        return web.Response(text=self.render(template, **values), content_type="text/html")

    def columns(self, filters: Filters) -> list[str]:
        """The columns a choice of filters shows, before any message arrives."""
        if filters.group == "brand":
            keys = [filters.brand] if filters.brand else [*self.brands.brands, NO_BRAND]
        else:
            keys = [filters.platform] if filters.platform else [p.value for p in Platform]
        return [str(k) for k in keys]


def _filters(request: web.Request) -> Filters:
    try:
        return Filters.of(request.query)
    except ValidationError as exc:
        raise web.HTTPBadRequest(text=f"bad filters: {exc.errors()[0]['msg']}") from None


def application(console: ConsoleContext) -> web.Application:
    """The aiohttp application of the console (the live tail is run by its owner)."""

    async def page(request: web.Request) -> web.Response:
        filters = _filters(request)
        return console.html("page.html", filters=filters, brands=console.brands.brands,
                            platforms=[p.value for p in Platform],
                            risks=[r.value for r in Risk],
                            priorities=[p.value for p in Priority])

    async def streams(request: web.Request) -> web.Response:
        filters = _filters(request)
        found = await console.reads.messages(filters)
        keys = console.columns(filters)
        keys += [k for k in found if k not in keys]
        # Columns with messages first, the busiest leftmost; empty ones after.
        keys.sort(key=lambda k: -len(found.get(k, [])))
        return console.html("streams.html", filters=filters,
                            columns=[(k, found.get(k, [])) for k in keys])

    async def alerts(request: web.Request) -> web.Response:
        return console.html("alerts.html", alerts=await console.reads.alerts())

    async def queues(request: web.Request) -> web.Response:
        return console.html("queues.html", queues=await console.reads.queues(per_queue=5))

    async def health(request: web.Request) -> web.Response:
        return console.html("health.html", snap=await console.status.snapshot(),
                            stage_order=STAGE_ORDER, max_lag_rows=MAX_LAG_ROWS)

    async def pulse(request: web.Request) -> web.Response:
        return console.html("pulse.html", snap=await console.status.snapshot())

    async def live_messages(request: web.Request) -> web.StreamResponse:
        stream = MessageStream(_filters(request))
        async with sse_response(request, headers=SECURITY_HEADERS) as sse, _left(sse):
            with console.tail.subscribe() as queue:
                last_rate, last_matched, last_shown, shown = time.monotonic(), 0, 0, 0
                while sse.is_connected() and not console.stopping.is_set():
                    await _pause(console.stopping, FLUSH_S)
                    now = time.monotonic()
                    while not queue.empty():
                        stream.offer(queue.get_nowait(), now)
                    for card in stream.due(now):
                        column = stream.filters.column(card.brand, card.platform)
                        await sse.send(console.render("card.html", c=card),
                                       event=f"col-{column}")
                        shown += 1
                    if now - last_rate >= RATE_EVERY_S:
                        span = now - last_rate
                        await sse.send(console.render(
                            "rate.html", matched=(stream.matched - last_matched) / span,
                            shown=(shown - last_shown) / span), event="rate")
                        last_rate, last_matched, last_shown = now, stream.matched, shown
        return sse

    async def live_ops(request: web.Request) -> web.StreamResponse:
        async with sse_response(request, headers=SECURITY_HEADERS) as sse, _left(sse):
            with console.tail.subscribe() as queue:
                queue_changed, last_signal = False, 0.0
                while sse.is_connected() and not console.stopping.is_set():
                    await _pause(console.stopping, FLUSH_S)
                    alert = False
                    while not queue.empty():
                        kind = queue.get_nowait().kind
                        alert |= kind == "alert"
                        queue_changed |= kind in ("task", "status")
                    if alert:
                        await sse.send("alert", event="alert")
                    now = time.monotonic()
                    if queue_changed and now - last_signal >= QUEUE_SIGNAL_EVERY_S:
                        await sse.send("queue", event="queue")
                        queue_changed, last_signal = False, now
        return sse

    @web.middleware
    async def secure(request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                     ) -> web.StreamResponse:
        response = await handler(request)
        if not response.prepared:
            response.headers.update(SECURITY_HEADERS)
        return response

    async def stop_streams(app: web.Application) -> None:
        console.stopping.set()  # open event streams end, so shutting down waits for none

    app = web.Application(middlewares=[secure])
    app.on_shutdown.append(stop_streams)
    app.add_routes([
        web.get("/", page),
        web.get("/fragments/streams", streams),
        web.get("/fragments/alerts", alerts),
        web.get("/fragments/queues", queues),
        web.get("/fragments/health", health),
        web.get("/fragments/pulse", pulse),
        web.get("/live/messages", live_messages),
        web.get("/live/ops", live_ops),
        web.static("/static", STATIC),
    ])
    return app


@contextlib.asynccontextmanager
async def _left(sse: web.StreamResponse) -> AsyncIterator[None]:
    """A page that goes away (closed, reloaded, filters changed) ends its stream."""
    with contextlib.suppress(ConnectionResetError):
        yield


async def _pause(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if the server stops meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)


STOP_S = 5.0


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``port``, or on a free port if that one is taken.

    Bound now, before the event loop runs, so the address can be printed (and written
    to ``.vigie/run.json``) before the first page can be served."""
    for candidate in (port, 0):
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError:
            sock.close()
            if candidate == 0:
                raise
            continue
        sock.listen(128)
        sock.setblocking(False)
        return sock
    raise AssertionError("unreachable")


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


async def serve(console: ConsoleContext, sock: socket.socket) -> None:
    """Serve the console on ``sock`` and tail the live topics until cancelled."""
    runner = web.AppRunner(application(console), access_log=None)
    await runner.setup()
    tail = asyncio.create_task(console.tail.run(), name="vigie.console.tail")
    try:
        await web.SockSite(runner, sock, shutdown_timeout=2.0).start()
        await asyncio.Future()  # until cancelled
    finally:
        # Bounded: Ctrl-C must stop the console even if the Kafka client hangs in its
        # own shutdown (a broker unreachable, a connection half open).
        tail.cancel()
        await asyncio.wait({tail}, timeout=STOP_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(runner.cleanup(), STOP_S)


def console_for(settings: Settings, query: Query, brands: BrandDirectory,
                workers: list[str] | None = None) -> ConsoleContext:
    """A console on ``settings``' Kafka, ``query``'s ClickHouse and the workers at
    ``workers`` (default: ``settings.console.workers``, else the local worker)."""
    urls = workers or settings.console.workers or [
        f"http://{settings.web_host}:{settings.web_port}"]
    return ConsoleContext(Reads(query, settings.console.history_hours),
                   Tail(settings.kafka, settings.topics), WorkerStatus(urls), brands)
