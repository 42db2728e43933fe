"""A send that the producer cannot take yet is waited on, never raised."""

from __future__ import annotations

import asyncio

from aiokafka.errors import KafkaTimeoutError

from streams.outbox import patiently


async def test_a_long_wait_is_reported_every_interval_and_keeps_its_place() -> None:
    attempts, waits = [], []

    async def slow() -> str:
        attempts.append(1)
        await asyncio.sleep(0.35)
        return "taken"

    assert await patiently(slow, "t", 0.1, waits.append) == "taken"
    assert len(attempts) == 1, "the attempt was never cancelled and started again"
    assert waits == ["t", "t", "t"]


async def test_aiokafka_giving_up_is_reported_and_tried_again_fake_fault() -> None:
    """Fake fault: aiokafka's own wait for room gives up (``KafkaTimeoutError``), which
    takes minutes of a full queue to happen for real."""
    attempts, waits = [], []

    async def gives_up_once() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise KafkaTimeoutError
        return "taken"

    assert await patiently(gives_up_once, "t", 1.0, waits.append) == "taken"
    assert (len(attempts), waits) == (2, ["t"])
