"""Task status messages and SLA-breach escalations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from base.settings import SlaSettings
from core.status import escalation, overdue_count, parse_status
from schemas.events import Priority
from schemas.tasks import Action, Queue, TaskStatusValue

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_a_status_message_is_parsed_and_a_wrong_status_refused() -> None:
    status = parse_status(b'{"task_id": "t1", "status": "done", "at": "2026-11-24T10:00:00Z"}')
    assert (status.task_id, status.status) == ("t1", TaskStatusValue.DONE)
    with pytest.raises(ValidationError):
        parse_status(b'{"task_id": "t1", "status": "maybe", "at": "2026-11-24T10:00:00Z"}')


def test_an_overdue_task_is_escalated_one_priority_higher_in_its_queue() -> None:
    row = ["t1", "aurore_air", "x", "support", "normal", "2026-11-24 09:00:00.000", 1]
    task = escalation(row, NOW, SlaSettings())
    assert (task.action, task.queue, task.priority) == (
        Action.ESCALATE_SUPPORT, Queue.SUPPORT, Priority.HIGH)
    assert task.event["breached_task_id"] == "t1"
    assert task.task_id == escalation(row, NOW, SlaSettings()).task_id
    assert "sla_breach" in task.classification.tags


def test_the_overdue_count_is_read_from_a_page_of_the_search() -> None:
    page = [["t1", "b", "x", "support", "normal", "2026-11-24 09:00:00.000", 2500]] * 3
    assert overdue_count(page) == 2500
    assert overdue_count([]) == 0
