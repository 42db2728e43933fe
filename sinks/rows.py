"""Row builders: one place that turns pipeline objects into ClickHouse rows.

Both backends insert the same :class:`~sinks.clickhouse.Rows`; column lists match
the DDL of ``deploy/clickhouse``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import orjson

from schemas.alerts import Alert
from schemas.deadletter import DeadLetter
from schemas.events import ClassifiedEvent
from schemas.tasks import ResponseTask, TaskStatus
from sinks.clickhouse import Rows

EVENT_COLUMNS = (
    "event_id", "platform", "kind", "brand", "direct", "author_id", "author_handle",
    "author_followers", "text", "lang", "url", "thread_id", "in_reply_to", "sentiment",
    "intent", "risks", "priority", "tags", "reasons", "dup_cluster", "dup_count",
    "created_at", "received_at", "processed_at", "source_topic", "source_partition",
    "source_offset",
)
TASK_COLUMNS = (
    "task_id", "event_id", "alert_id", "brand", "platform", "action", "response_level",
    "can_dm", "queue", "priority", "created_at", "due_by", "published_at",
)
ALERT_COLUMNS = (
    "alert_id", "sequence", "kind", "status", "brand", "platforms", "polarity",
    "window_start", "detected_at", "severity", "count", "baseline", "score", "top_terms",
    "sample_event_ids", "origin_event_id", "summary", "trajectory", "polarity_mix",
    "term_excess", "platform_counts", "discounted", "stored_at",
)
TASK_STATUS_COLUMNS = ("task_id", "status", "at", "by", "note", "stored_at")
DEAD_LETTER_COLUMNS = (
    "stage", "reason", "error_type", "platform", "source_topic", "partition", "offset",
    "key", "payload_b64", "failed_at",
)


def event_rows(
    events: Iterable[tuple[ClassifiedEvent, str, int, int]],
    processed_at: datetime,
) -> Rows:
    """``(event, source topic, partition, offset)`` → ``events`` rows, text as given: the
    worker hands over the events it publishes, their personal data already masked."""
    return Rows(
        "events",
        EVENT_COLUMNS,
        [
            (
                e.event_id, e.platform.value, e.kind.value, e.brand or "", e.direct,
                e.author.id, e.author.handle or "", e.author.followers, e.text,
                e.lang or "", e.url or "", e.thread_id or "", e.in_reply_to or "",
                e.sentiment.value, e.intent.value, [r.value for r in e.risks],
                e.priority.value, e.tags, orjson.dumps(e.reasons).decode(),
                e.dup_cluster or "", e.dup_count, e.created_at, e.received_at,
                processed_at, topic, partition, offset,
            )
            for e, topic, partition, offset in events
        ],
    )


def task_rows(tasks: Iterable[ResponseTask], published_at: datetime) -> Rows:
    return Rows(
        "tasks",
        TASK_COLUMNS,
        [
            (
                t.task_id, t.event.get("event_id") or "", t.alert_id or "",
                t.event.get("brand") or "", t.event.get("platform") or "", t.action.value,
                t.response_level.value, t.can_dm, t.queue.value, t.priority.value,
                t.created_at, t.due_by, published_at,
            )
            for t in tasks
        ],
    )


def alert_rows(alerts: Iterable[Alert], stored_at: datetime) -> Rows:
    """One ``alerts`` row per alert message (open, each update, resolved); nulls as ''."""
    return Rows(
        "alerts",
        ALERT_COLUMNS,
        [
            (
                a.alert_id, a.sequence, a.kind.value, a.status.value, a.brand or "",
                [p.value for p in a.platforms], a.polarity.value if a.polarity else "",
                a.window_start, a.detected_at, a.severity.value, a.count, a.baseline, a.score,
                a.top_terms, a.sample_event_ids, a.origin_event_id or "", a.summary,
                [(p.minute, p.count, p.baseline) for p in a.trajectory], a.polarity_mix,
                [(x.term, x.count, x.expected) for x in a.term_excess], a.platform_counts,
                a.discounted, stored_at,
            )
            for a in alerts
        ],
    )


def task_status_rows(statuses: Iterable[TaskStatus], stored_at: datetime) -> Rows:
    """One ``task_status`` row per status message a downstream tool published."""
    return Rows(
        "task_status",
        TASK_STATUS_COLUMNS,
        [(s.task_id, s.status.value, s.at, s.by or "", s.note or "", stored_at)
         for s in statuses],
    )


def dead_letter_rows(letters: Iterable[DeadLetter]) -> Rows:
    return Rows(
        "dead_letters",
        DEAD_LETTER_COLUMNS,
        [
            (
                d.stage, d.reason, d.error_type, d.platform or "", d.source_topic,
                d.partition, d.offset, d.key or "", d.payload_b64, d.failed_at,
            )
            for d in letters
        ],
    )
