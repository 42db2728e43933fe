"""Read deadlines for the webhook receiver: clients too slow to send a request are dropped.

aiohttp bounds the size of a request's headers and body but not the time a client
takes to send them, so a client trickling bytes holds a connection (and its buffers)
for as long as it likes. Here a connection must send a request's line and headers
within ``header_timeout_s`` (counted from its opening, or from the first byte of a
later request on a kept-alive connection), and a request its body within
``body_timeout_s``. A client past either deadline is disconnected and counted by the
phase it was slow in (``headers``, ``body``). A kept-alive connection left idle as
long as a request may take to send its headers is closed too, uncounted: it is not
slow, only unused.

Wiring: :meth:`SlowClients.protocol` wraps the server's protocol factory (the header
deadline needs the connection itself), :meth:`SlowClients.middleware` tells it when a
request's headers are in and when its handler is done, and handlers read bodies
through :meth:`SlowClients.read_body`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import cast

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TooSlow(Exception):
    """The client did not send its body in time; its connection is already closed."""


class _Phase(Enum):
    HEADERS = "headers"  # waiting for a request line and headers: dropped and counted
    HANDLING = "handling"  # headers in, the handler runs (its body read has its deadline)
    IDLE = "idle"  # kept alive between requests: closed, uncounted


class SlowClients:
    """The deadlines and the count of clients dropped for missing them."""

    def __init__(self, header_timeout_s: float, body_timeout_s: float) -> None:
        self.header_timeout_s = header_timeout_s
        self.body_timeout_s = body_timeout_s
        self.dropped: Counter[str] = Counter()
        self._connections: dict[asyncio.BaseTransport, _Deadline] = {}

    def protocol(self, inner: Callable[[], asyncio.BaseProtocol]
                 ) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for ``loop.create_server``: ``inner``'s protocol, guarded."""
        return lambda: _Deadline(inner(), self)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        connection = self._connections.get(request.transport) if request.transport else None
        if connection is not None:
            connection.headers_received()
        try:
            return await handler(request)
        finally:
            if connection is not None:
                connection.request_done()

    async def read_body(self, request: web.Request) -> bytes:
        """The request's body; :class:`TooSlow` (connection closed) past the deadline."""
        try:
            async with asyncio.timeout(self.body_timeout_s):
                return await request.read()
        except TimeoutError:
            self.drop(request.transport, "body")
            raise TooSlow(f"body not received within {self.body_timeout_s:g} s") from None

    def drop(self, transport: asyncio.BaseTransport | None, phase: str) -> None:
        """Disconnect a slow client and count it under the phase it was slow in."""
        self.dropped[phase] += 1
        log.info("dropped a client too slow to send its %s", phase,
                 extra={"count": self.dropped[phase]})
        if transport is not None and not transport.is_closing():
            cast(asyncio.Transport, transport).abort()  # uvloop's is no asyncio.Transport


class _Deadline(asyncio.Protocol):
    """One connection: forwards everything to aiohttp's protocol, and drops the
    connection when a request's headers are not in by their deadline."""

    def __init__(self, inner: asyncio.BaseProtocol, clients: SlowClients) -> None:
        self.inner = inner
        self.clients = clients
        self.transport: asyncio.BaseTransport | None = None
        self.phase = _Phase.HEADERS
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.clients._connections[transport] = self
        self.inner.connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self.phase is _Phase.IDLE:  # the first byte of the next request
            self.phase = _Phase.HEADERS
            self._arm()
        assert isinstance(self.inner, asyncio.Protocol)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        assert isinstance(self.inner, asyncio.Protocol)
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self.transport is not None:
            self.clients._connections.pop(self.transport, None)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def headers_received(self) -> None:
        self.phase = _Phase.HANDLING
        self._disarm()

    def request_done(self) -> None:
        self.phase = _Phase.IDLE
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.clients.header_timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self.phase is _Phase.HEADERS:
            self.clients.drop(self.transport, "headers")
        elif self.phase is _Phase.IDLE and self.transport is not None:
            self.transport.close()
