"""The dedup and contact memories a worker writes come back, equal, in the next worker.

The worker writes these tables straight to their stores and sends the changelog
records itself (``streams.state.LoggedTable``): Faust must restore them as its own.
"""

from __future__ import annotations

import pytest

from base.settings import Settings
from core.brands import BrandDirectory
from lab.simulator import Simulator
from schemas.events import Kind
from streams.services import Services
from tests.support.kafka_reader import read_to_end
from tests.support.publish import publish
from tests.support.worker import eventually, running_worker, running_workers


@pytest.mark.parametrize("workers", [1, 2])
async def test_a_restarted_worker_restores_what_the_previous_one_wrote(
    settings: Settings, workers: int,
) -> None:
    messages = list(Simulator(BrandDirectory.load(), seed=11).messages(600))
    assert any(e.kind == Kind.DM for m in messages for e in m.expected)

    def tables(group: list[Services]) -> tuple[dict[str, int], dict[str, int]]:
        """The group's tables: each worker holds the partitions it owns (or stands by for)."""
        seen: dict[str, int] = {}
        contacts: dict[str, int] = {}
        for services in group:
            seen |= dict(services.tables.seen.store)
            contacts |= dict(services.tables.contacts.store)
        return seen, contacts

    async with running_workers(settings, workers) as group:
        await publish(settings, messages)

        async def all_read() -> bool:
            return sum(s.metrics.stage_totals()["raw"] for s in group) >= len(messages)

        await eventually(all_read, within=90, what="every raw record processed")
        seen, contacts = tables(group)
    assert len(seen) >= len({e.event_id for m in messages for e in m.expected})
    assert contacts

    async with running_workers(settings, workers) as group:
        async def restored() -> bool:
            return tables(group) == (seen, contacts)

        await eventually(restored, within=60, what="both tables restored from the changelog")


async def test_expired_ids_are_tombstoned_in_the_partition_they_were_written_to(
    settings: Settings,
) -> None:
    """The changelog is compacted per partition: a tombstone filed under another
    partition leaves the id's record in its own forever, and every restore reads it."""
    ttl_s = 5.0
    settings = settings.model_copy(update={
        "dedup": settings.dedup.model_copy(update={"ttl_hours": ttl_s / 3600})})
    messages = list(Simulator(BrandDirectory.load(), seed=12).messages(600))
    await publish(settings, messages)
    async with running_worker(settings) as services:
        async def all_read() -> bool:
            return services.metrics.stage_totals()["raw"] >= len(messages)

        await eventually(all_read, within=90, what="every raw record processed")
        changelog = services.tables.seen.table.changelog_topic.get_topic_name()
        remembered = dict(services.tables.seen.store)

    written: dict[bytes, set[int]] = {}
    tombstones: dict[bytes, set[int]] = {}
    last: dict[bytes, bytes | None] = {}  # each partition's records come in order
    for record in read_to_end(settings.kafka.bootstrap_servers, changelog):
        key = record.key() or b""
        kept = written if record.value() is not None else tombstones
        kept.setdefault(key, set()).add(record.partition() or 0)
        last[key] = record.value()
    assert len(tombstones) > 100  # the sweeps ran
    misfiled = {key: (written.get(key), parts) for key, parts in tombstones.items()
                if not parts <= written.get(key, set())}
    assert not misfiled, f"{len(misfiled)} of {len(tombstones)}: {list(misfiled.items())[:3]}"
    # what a restore rebuilds (compacted or not) is what the worker remembered
    assert sum(1 for value in last.values() if value is not None) == len(remembered)
