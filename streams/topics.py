"""Every topic the Faust app reads or writes, declared in one place.

All values are bytes on the wire (``raw`` serializer) and decoded at the edge with
orjson/pydantic, so the topic layer never depends on model classes. Raw topics are
keyed by native message id; events by event id; tasks by thread or author. The
surge feed has one partition: detection compares all brands and platforms.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust
from faust.types import TopicT

from base.settings import TopicSettings
from schemas.events import Platform


@dataclass(frozen=True)
class Topics:
    raw: dict[Platform, TopicT]
    raw_all: TopicT
    normalized: TopicT
    classified: TopicT
    alerts: TopicT
    tasks: TopicT
    task_status: TopicT
    deadletter: TopicT
    surge: TopicT


def declare_topics(app: faust.App, names: TopicSettings) -> Topics:
    def topic(*topic_names: str, partitions: int = names.partitions) -> TopicT:
        return app.topic(
            *topic_names,
            key_serializer="raw",
            value_serializer="raw",
            partitions=partitions,
            acks=False,  # the agents commit their offsets themselves (streams.offsets)
        )

    return Topics(
        raw={p: topic(names.raw(p)) for p in Platform},
        raw_all=topic(*names.all_raw()),
        normalized=topic(names.normalized),
        classified=topic(names.classified),
        alerts=topic(names.alerts),
        tasks=topic(names.tasks),
        task_status=topic(names.task_status),
        deadletter=topic(names.deadletter),
        surge=topic(names.surge, partitions=1),
    )
