"""How far behind the agents are: end offset minus committed offset, per owned partition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from base.kafka import group_committed
from base.settings import KafkaSettings


@dataclass(frozen=True, slots=True)
class PartitionLag:
    topic: str
    partition: int
    end: int
    committed: int
    lag: int


def source_topics(app: faust.App) -> set[str]:
    """The topics the agents consume, whose lag matters (table changelogs excluded)."""
    return {str(topic) for agent in app.agents.values()
            for topic in getattr(agent.channel, "topics", ())}


async def consumer_lag(app: faust.App, kafka: KafkaSettings,
                       topics: set[str]) -> list[PartitionLag]:
    """Lag of every owned source partition: end offset minus committed offset.

    A partition this worker has not committed yet since it was assigned counts from
    the group's last commit (from 0 if the group never committed it), not from the
    consumer's position: the position runs ahead of what is stored by every fetched
    and in-flight record, and the SLA check relies on this lag to wait for unread
    statuses.
    """
    consumer = app.consumer
    try:
        owned = sorted((tp for tp in consumer.assignment() if tp.topic in topics),
                       key=lambda tp: (tp.topic, tp.partition))
    except Exception:  # consumer not started yet, or stopping
        return []
    if not owned:
        return []
    ends: dict[Any, int] = dict(await consumer.highwaters(*owned))
    committed: dict[tuple[str, int], int] = {
        (tp.topic, tp.partition): offset for tp in owned
        if (offset := app.monitor.tp_committed_offsets.get(tp)) is not None}
    if unknown := [(tp.topic, tp.partition) for tp in owned
                   if (tp.topic, tp.partition) not in committed]:
        committed |= await group_committed(kafka, app.conf.id, unknown)
    lags = []
    for tp in owned:
        end, done = int(ends.get(tp) or 0), committed.get((tp.topic, tp.partition), 0)
        lags.append(PartitionLag(tp.topic, tp.partition, end, done, max(0, end - done)))
    return lags
