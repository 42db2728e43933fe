"""What downstream tools say about tasks, and what happens when nobody answers in time.

- :func:`parse_status` reads one ``tasks.status`` message (``acknowledged``, ``done``,
  ``rejected``) into a :class:`~schemas.tasks.TaskStatus`.
- :func:`escalation` turns a task past its ``due_by`` with no ``done`` into an SLA
  breach task one priority higher, for the same queue. Its id derives from the
  breached task's, so finding the same breach twice publishes the same task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from base.settings import SlaSettings
from core.route import task_id
from core.sla import due_by
from schemas.events import Classification, Priority
from schemas.tasks import Action, Queue, ResponseLevel, ResponseTask, TaskStatus

BREACH_PREFIX = "sla:"
_HIGHER = {Priority.LOW: Priority.NORMAL, Priority.NORMAL: Priority.HIGH,
           Priority.HIGH: Priority.CRITICAL, Priority.CRITICAL: Priority.CRITICAL}

# Open tasks past their deadline that have not been escalated yet (escalations
# themselves are not escalated again: they page a person already), the longest overdue
# first; the last column counts all of them, beyond the limit too.
OVERDUE_SQL = """
SELECT task_id, brand, platform, queue, priority, due_by, count() OVER () AS overdue
FROM task_outcomes
WHERE state IN ('open', 'acknowledged') AND due_by < {now:DateTime64(3)}
  AND NOT startsWith(event_id, 'sla:')
  AND concat('sla:', task_id) NOT IN (SELECT event_id FROM tasks WHERE startsWith(event_id, 'sla:'))
ORDER BY due_by
LIMIT {limit:UInt32}
"""


def parse_status(raw: bytes) -> TaskStatus:
    """A status message as a downstream tool published it; raises when it is not one."""
    return TaskStatus.model_validate_json(raw)


def overdue_count(rows: list[list[Any]]) -> int:
    """How many tasks were overdue when :data:`OVERDUE_SQL` returned ``rows`` (a page)."""
    return int(rows[0][-1]) if rows else 0


def escalation(row: list[Any], now: datetime, sla: SlaSettings) -> ResponseTask:
    """The SLA-breach task for one row of :data:`OVERDUE_SQL`."""
    breached, brand, platform, queue, priority, overdue_since, _ = row
    raised = _HIGHER[Priority(priority)]
    event_id = f"{BREACH_PREFIX}{breached}"
    return ResponseTask(
        task_id=task_id(event_id),
        created_at=now,
        event={"event_id": event_id, "brand": brand or None, "platform": platform or None,
               "breached_task_id": breached},
        classification=Classification(
            priority=raised, tags=["sla_breach"],
            reasons={"action": [f"task {breached} not done by {overdue_since}"]},
        ),
        action=Action.ESCALATE_SUPPORT,
        response_level=ResponseLevel.PRIVATE,
        can_dm=False,
        queue=Queue(queue),
        priority=raised,
        due_by=due_by(now, raised.value, platform or "", sla),
        key=breached,
    )
