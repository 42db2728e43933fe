"""Downstream tools answer on tasks.status; tasks left undone past due are escalated."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from base.settings import Settings
from core.brands import BrandDirectory
from lab.simulator import Simulator
from schemas.tasks import Action, ResponseTask
from tests.support.kafka_reader import read_to_end
from tests.support.publish import publish, send_all
from tests.support.worker import eventually, running_worker


async def test_statuses_are_stored_and_only_undone_overdue_tasks_are_escalated(
    settings: Settings,
) -> None:
    await publish(settings, list(Simulator(BrandDirectory.load(), seed=3).messages(200)))
    stored = 0
    async with running_worker(settings) as services:
        async def tasks_stored() -> bool:
            nonlocal stored
            published = services.metrics.stage_totals()["tasks"]
            found = await services.writer.query("SELECT uniqExact(task_id) FROM tasks")
            stored = int(found.rows[0][0])
            return published > 0 and stored == published
        await eventually(tasks_stored, what="tasks stored")

    tasks = [ResponseTask.model_validate_json(m.value())
             for m in read_to_end(settings.kafka.bootstrap_servers, settings.topics.tasks)]
    # Half the tasks, by id (a task record delivered twice must not count twice).
    ids = sorted({t.task_id for t in tasks})
    assert len(ids) == stored, "the topic read back holds every stored task"
    done = set(ids[::2])
    statuses = [orjson.dumps({"task_id": task_id, "status": "done",
                              "at": datetime.now(UTC).isoformat()}) for task_id in sorted(done)]
    await send_all(settings, [(settings.topics.task_status, s, None)
                              for s in [*statuses, b'{"task_id": "x", "status": "?"}']])

    checking = settings.model_copy(update={
        "sla": settings.sla.model_copy(update={"breach_check_s": 1.0})})
    async with running_worker(checking) as services:
        async def escalated() -> bool:
            rows = await services.writer.query(
                "SELECT count() FROM tasks WHERE startsWith(event_id, 'sla:')")
            return int(rows.rows[0][0]) >= len(ids) - len(done)
        await eventually(escalated, what="escalations of undone tasks")

        async def feedback() -> tuple[int, int]:
            statuses = await services.writer.query(
                "SELECT uniqExact(task_id) FROM task_status WHERE status = 'done'")
            letters = await services.writer.query(
                "SELECT count() FROM dead_letters WHERE stage = 'task_status'")
            return int(statuses.rows[0][0]), int(letters.rows[0][0])

        async def feedback_stored() -> bool:
            # The bad status's dead letter travels its own topic and sink batch: it may
            # land after the escalations, so wait for it rather than read once.
            statuses, letters = await feedback()
            return statuses >= len(done) and letters >= 1
        await eventually(feedback_stored, what="statuses and the bad status's dead letter")
        stored_statuses, stored_letters = await feedback()
        checks = services.metrics.sla_checks._value.get()

        async def checked_twice_more() -> bool:
            return bool(services.metrics.sla_checks._value.get() >= checks + 2)
        await eventually(checked_twice_more, what="two more overdue-task searches")
        again = await services.writer.query(
            "SELECT count(), uniqExact(task_id) FROM tasks WHERE startsWith(event_id, 'sla:')")

    assert stored_statuses == len(done)
    assert stored_letters == 1
    escalations = [ResponseTask.model_validate_json(m.value())
                   for m in read_to_end(settings.kafka.bootstrap_servers, settings.topics.tasks)
                   if m.value().find(b'"sla:') >= 0]
    breached = {t.event["breached_task_id"] for t in escalations}
    assert breached == set(ids) - done
    assert all(t.action == Action.ESCALATE_SUPPORT for t in escalations)
    assert int(again.rows[0][1]) == len(ids) - len(done), "an escalation is raised once"

