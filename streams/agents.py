"""The worker's agents: each topic's records in batches, through one batch loop
(:class:`streams.batches.BatchLoop`: compute, then store → confirm → acknowledge →
commit) to its handler (:class:`streams.handlers.Handlers`); and the periodic jobs.

| agent | source | handler |
|---|---|---|
| ``vigie.process`` | the raw topics, through :class:`streams.rawfeed.RawFeed` | ``raw`` |
| ``vigie.surge`` | ``surge.observations`` | ``surge`` |
| ``vigie.task_status`` | ``tasks.status`` | ``status`` |
| ``vigie.deadletters`` | ``deadletter`` | ``dead_letters`` |

Offsets are committed by the agents themselves, batch by batch after completion,
through :class:`streams.committer.Committer` (:mod:`streams.offsets` says why Faust's
own commits are off). An unexpected exception does not stop the worker: the batch it
hit is read again from the last commit after a pause (``vigie_batch_failures_total``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import faust
from faust.types import EventT, StreamT
from mode.types.signals import BaseSignalT, SignalHandlerT

from streams.batches import BatchLoop, Completion
from streams.committer import Committer
from streams.handlers import Handlers
from streams.lag import consumer_lag
from streams.offsets import RESEEK_AFTER_S
from streams.services import Services
from streams.timers import periodic

# Records completing at once, at most, counted in full batches (memory). Counted in
# records, not batches: part-filled batches would otherwise stall computing early.
IN_FLIGHT = 3


def register_agents(app: faust.App, services: Services) -> None:
    topics, metrics, settings = services.topics, services.metrics, services.settings
    handlers = Handlers(app, services)
    committers: list[Committer] = []
    in_flight = IN_FLIGHT * settings.sink.batch_size

    def committer(name: str, source: faust.TopicT, faust_tables: bool = False) -> Committer:
        committers.append(Committer(app, services, name, source.topics, faust_tables))
        return committers[-1]

    def batched(name: str, source: faust.TopicT,
                handle: Callable[[faust.Stream[Any], Sequence[EventT[Any]]],
                                 Awaitable[Completion]],
                faust_tables: bool = False, on_failure: Callable[[], None] = lambda: None,
                ) -> Callable[[StreamT[Any]], Awaitable[None]]:
        positions = committer(name, source, faust_tables)

        async def agent(stream: StreamT[Any]) -> None:
            events = cast(faust.Stream[Any], stream)  # noack_take is on the concrete class
            batches = BatchLoop(positions, lambda batch: handle(events, batch), handlers.store,
                                events.ack, metrics, in_flight, on_failure)
            await batches.run(events.noack_take(settings.sink.batch_size,
                                                settings.sink.batch_seconds))
        agent.__name__ = name
        return agent

    async def ack_raw(event: EventT[Any]) -> None:
        message = event.message
        app.consumer.ack(message)
        app.sensors.on_message_out(message.tp, message.offset, message)  # as Faust does

    raw = BatchLoop(committer("process", topics.raw_all), handlers.raw, handlers.store, ack_raw,
                    metrics, in_flight)

    async def process_raw_feed(_stream: StreamT[Any]) -> None:
        """The raw topics' agent. Its Faust stream keeps them subscribed (assignment,
        table partitions); their records come through :class:`streams.rawfeed.RawFeed`."""
        await handlers.warm_up()
        await raw.run(services.raw_feed.batches(app))

    app.agent(topics.raw_all, name="vigie.process", concurrency=1)(process_raw_feed)
    app.agent(topics.surge, name="vigie.surge", concurrency=1)(
        # A failed batch may leave the detector's views half-updated: rebuilt from the tables.
        batched("surge", topics.surge, handlers.surge, faust_tables=True,
                on_failure=services.tables.surge.reset))
    app.agent(topics.task_status, name="vigie.task_status", concurrency=1)(
        batched("task_status", topics.task_status, lambda _, events: handlers.status(events)))
    app.agent(topics.deadletter, name="vigie.deadletters", concurrency=1)(
        batched("deadletters", topics.deadletter,
                lambda _, events: handlers.dead_letters(events)))

    def forget_positions(sender: Any, *revoked: Any, signal: BaseSignalT[Any],
                         **kwargs: Any) -> None:
        for committer in committers:
            committer.tracker.reset()

    app.on_partitions_revoked.connect(cast(SignalHandlerT[Any], forget_positions))

    async def reseek_stalled_holes() -> None:
        # One lag reading for every agent: a reading may open a client per call.
        lags = await consumer_lag(app, settings.kafka, set().union(*(c.topics for c in committers)))
        for committer in committers:
            await committer.reseek_stalled()
            await committer.reread_idle([lag for lag in lags if lag.topic in committer.topics])

    periodic(app, metrics, "vigie.reseek_stalled_holes", RESEEK_AFTER_S, reseek_stalled_holes)
    periodic(app, metrics, "vigie.sla_breaches", settings.sla.breach_check_s,
             handlers.escalate_overdue_tasks, on_leader=True)
