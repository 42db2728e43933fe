"""The console's live streams on a real broker: records published on the topics reach an
open page as server-sent events, through its filters."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer

from base.kafka import aiokafka_options, create_topics
from base.settings import Settings
from core.brands import BrandDirectory
from sinks.clickhouse import QueryResult
from tests.support.worker import eventually
from vigie.console.web import console_for, listen, serve, url_of


async def no_history(sql: str, params: dict[str, Any] | None = None) -> QueryResult:
    raise AssertionError("the live streams read no ClickHouse")


@contextlib.asynccontextmanager
async def console_on(settings: Settings) -> AsyncIterator[str]:
    await create_topics(settings)
    sock = listen("127.0.0.1", 0)
    server = asyncio.create_task(serve(console_for(settings, no_history, BrandDirectory.load()),
                                       sock))
    try:
        yield url_of(sock)
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server
        sock.close()


async def events_of(url: str, into: list[tuple[str, str]]) -> None:
    """Append (event, data) of every server-sent event at ``url`` until cancelled."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        name, data = "message", []
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
            elif not line and data:
                into.append((name, "\n".join(data)))
                name, data = "message", []


def classified(n: int, platform: str) -> dict[str, Any]:
    return {"event_id": f"{platform}:{n}", "platform": platform, "kind": "comment",
            "brand": "velo_city", "author": {"id": "a", "handle": f"user{n}", "followers": 3},
            "text": f"message {n} on {platform}, call +33 6 12 34 56 78", "lang": "fr",
            "created_at": datetime.now(UTC).isoformat(), "sentiment": "negative",
            "intent": "complaint", "risks": [], "priority": "high", "reasons": {}}


async def test_a_page_gets_the_messages_its_filters_let_through_with_their_task(
    settings: Settings,
) -> None:
    topics = settings.topics
    async with console_on(settings) as url:
        received: list[tuple[str, str]] = []
        stream = asyncio.create_task(events_of(f"{url}/live/messages?platform=x", received))
        producer = AIOKafkaProducer(**aiokafka_options(settings.kafka))
        await producer.start()
        n = 0

        async def shown() -> bool:
            nonlocal n  # the tail starts at the end once the page is open: send until seen
            n += 1
            due = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
            await producer.send(topics.classified, orjson.dumps(classified(n, "facebook")))
            await producer.send(topics.tasks, orjson.dumps({
                "task_id": f"t{n}", "event": {"event_id": f"x:{n}"}, "action": "reply_public",
                "queue": "support", "priority": "high", "due_by": due}))
            await producer.send(topics.classified, orjson.dumps(classified(n, "x")))
            await producer.flush()
            await asyncio.sleep(0.5)
            return any(name == "col-velo_city" for name, _ in received)

        try:
            await eventually(shown, within=30, what="a card on the page")
            await asyncio.sleep(1.5)  # the last cards leave their hold
        finally:
            stream.cancel()
            await producer.stop()

    cards = [data for name, data in received if name.startswith("col-")]
    assert cards
    assert all('data-platform="x"' in card for card in cards)
    assert all("+33 6 12 34 56 78" not in card for card in cards)
    assert any("task: reply_public → support" in card for card in cards)


async def test_alerts_and_task_statuses_tell_the_page_to_reload_its_panels(
    settings: Settings,
) -> None:
    async with console_on(settings) as url:
        received: list[tuple[str, str]] = []
        stream = asyncio.create_task(events_of(f"{url}/live/ops", received))
        producer = AIOKafkaProducer(**aiokafka_options(settings.kafka))
        await producer.start()

        async def signalled() -> bool:
            await producer.send(settings.topics.alerts, b'{"alert_id": "a1", "status": "open"}')
            await producer.send(settings.topics.task_status,
                                b'{"task_id": "t1", "status": "done"}')
            await producer.flush()
            await asyncio.sleep(0.5)
            return {"alert", "queue"} <= {name for name, _ in received}

        try:
            await eventually(signalled, within=30, what="the alert and queue signals")
        finally:
            stream.cancel()
            await producer.stop()
