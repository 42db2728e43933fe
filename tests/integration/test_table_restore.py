"""The dedup and contact memories a worker writes come back, equal, in the next worker.

The worker writes these tables straight to their stores and sends the changelog
records itself (``streams.state.LoggedTable``): Faust must restore them as its own.
"""

from __future__ import annotations

from typing import Any, cast

from ingest.simulator import Simulator
from schemas.events import Kind
from streams.brands import BrandDirectory
from tests.integration.conftest import eventually, running_worker
from tests.integration.test_pipeline_e2e import publish
from vigie.settings import Settings


async def test_a_restarted_worker_restores_what_the_previous_one_wrote(
    settings: Settings,
) -> None:
    messages = list(Simulator(BrandDirectory.load(), seed=11).messages(600))
    assert any(e.kind == Kind.DM for m in messages for e in m.expected)
    await publish(settings, messages)

    async with running_worker(settings) as services:
        async def all_read() -> bool:
            return services.metrics.stage_totals()["raw"] >= len(messages)

        await eventually(all_read, within=90, what="every raw record processed")
        seen, contacts = dict(services.tables.seen.store), dict(services.tables.contacts.store)
    assert len(seen) >= len({e.event_id for m in messages for e in m.expected})
    assert contacts

    async with running_worker(settings) as services:
        async def restored() -> bool:
            return (dict(services.tables.seen.store) == seen
                    and dict(services.tables.contacts.store) == contacts)

        await eventually(restored, within=60, what="both tables restored from the changelog")

        async def released() -> bool:  # the store's key -> partition notes (memory)
            return not any(cast(Any, t.store)._key_partition for t in services.tables.logged())

        await eventually(released, within=30, what="the restore's index released")
