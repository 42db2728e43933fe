"""The raw feed hands out batches by size at once, by time from their first record,
and forgets what it holds when partitions are revoked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import faust
from faust.types import EventT, Message

from streams.rawfeed import RawFeed

WINDOW = 0.2


def _message(offset: int) -> Message:
    return Message("raw.x", 0, offset, None, 0, None, b"k", b"v", None)


def _app() -> faust.App:
    """An app whose first event is made already (Faust's lazy set-up takes ~60 ms)."""
    app = faust.App("rawfeed-test")
    app.create_event(b"k", b"v", None, _message(0))
    return app


async def _next(batches: AsyncIterator[list[EventT[Any]]]) -> tuple[list[int], float]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    batch = await anext(batches)
    return [e.message.offset for e in batch], loop.time() - started


async def test_a_full_batch_goes_at_once_and_the_rest_within_the_window() -> None:
    feed = RawFeed({"raw.x"}, size=5, within=WINDOW)
    batches = feed.batches(_app())
    for offset in range(7):
        feed._add(_message(offset))
    offsets, waited = await _next(batches)
    assert offsets == [0, 1, 2, 3, 4]
    assert waited < WINDOW / 2
    offsets, waited = await _next(batches)
    assert offsets == [5, 6]
    assert WINDOW * 0.75 <= waited < WINDOW * 3


async def test_the_window_runs_from_the_first_record_not_from_the_request() -> None:
    feed = RawFeed({"raw.x"}, size=100, within=WINDOW)
    batches = feed.batches(_app())
    feed._add(_message(0))
    await asyncio.sleep(WINDOW)  # the agent was busy computing the previous batch
    offsets, waited = await _next(batches)
    assert offsets == [0]
    assert waited < WINDOW / 2


async def test_revoked_partitions_empty_the_feed() -> None:
    feed = RawFeed({"raw.x"}, size=3, within=WINDOW)
    batches = feed.batches(_app())
    for offset in range(5):
        feed._add(_message(offset))
    feed.clear()  # what Faust's flow control does on revocation
    feed._add(_message(9))
    offsets, _ = await _next(batches)
    assert offsets == [9]
