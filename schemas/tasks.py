"""Response tasks for downstream tools (``tasks.response``) and their status replies."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import Classification, Platform, Priority, UtcDatetime

TASK_SCHEMA: Final = "vigie.task.v1"


class Action(StrEnum):
    REPLY_PUBLIC = "reply_public"
    REPLY_PRIVATE = "reply_private"
    BROADCAST = "broadcast"
    ESCALATE_SUPPORT = "escalate_support"
    ESCALATE_SALES = "escalate_sales"
    MODERATE = "moderate"
    CRISIS_RESPONSE = "crisis_response"
    MONITOR = "monitor"


class ResponseLevel(StrEnum):
    PRIVATE = "private"
    PUBLIC = "public"
    COMMUNITY = "community"


class Queue(StrEnum):
    SUPPORT = "support"
    SALES = "sales"
    MODERATION = "moderation"
    CRISIS = "crisis"
    COMMUNITY = "community"


class AlertSubject(BaseModel):
    """What a crisis task is about: an alert's brand and platforms, and the event that
    set it off (the detector keeps only its id)."""

    model_config = ConfigDict(extra="forbid")

    event_id: str | None
    brand: str
    platform: Platform | None
    platforms: list[Platform]


class ResponseTask(BaseModel):
    """One thing a person must do about one event (or one alert), with its deadline.

    ``task_id`` is derived from the event id and the action, so replaying the same
    input yields the same id and downstream tools can drop the repeat.
    """

    model_config = ConfigDict(extra="forbid")

    schema_: Literal["vigie.task.v1"] = Field(default=TASK_SCHEMA, alias="schema")
    task_id: str
    created_at: UtcDatetime
    event: dict[str, Any] = Field(
        description="The normalized event the task is about; for a crisis task "
        "(`alert_id` set), the alert's subject.")
    classification: Classification
    action: Action
    response_level: ResponseLevel
    can_dm: bool
    queue: Queue
    priority: Priority
    due_by: UtcDatetime
    key: str = Field(description="Kafka key: the thread, else the author, keeps order.")
    alert_id: str | None = None


class TaskStatusValue(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    DONE = "done"
    REJECTED = "rejected"


class TaskStatus(BaseModel):
    """What a downstream tool publishes on ``tasks.status`` about a task."""

    task_id: str
    status: TaskStatusValue
    at: UtcDatetime
    by: str | None = None
    note: str | None = None
