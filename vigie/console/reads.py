"""What the console reads from ClickHouse, and the shapes it shows.

Every query takes a time window (``history_hours``) so a page load reads recent
partitions only. Values are query parameters; the only SQL assembled here joins
fragments written in this module. Message text is masked again on the way out
(:func:`card`), whatever ClickHouse keeps (``VIGIE_CLICKHOUSE__MASK_PERSONAL_DATA``
may be off): the page shows masked text only.

Both backends are read alike: chdb returns tuples as JSON objects and times as
strings, clickhouse-connect as tuples and datetimes; :func:`utc` and :func:`fields`
take either.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from core.classify import mask_personal_data
from sinks.clickhouse import QueryResult
from vigie.console import charts
from vigie.console.filters import Filters

Query = Callable[[str, dict[str, Any] | None], Awaitable[QueryResult]]

CHART_LEAD = timedelta(minutes=10)  # minutes shown before an alert's window
CHART_SPAN = timedelta(minutes=40)  # at most, from the first minute shown


def utc(value: Any) -> datetime:
    """A ClickHouse time (a string from chdb, a datetime from a server) in UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def fields(value: Any, names: Sequence[str]) -> dict[str, Any]:
    """A ClickHouse tuple as a dict, from a JSON object or a positional sequence."""
    if isinstance(value, Mapping):
        return {n: value.get(n) for n in names}
    return dict(zip(names, value, strict=False))


def rows(result: QueryResult) -> list[dict[str, Any]]:
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


@dataclass(frozen=True, slots=True)
class TaskBadge:
    """A task as the page shows it: what, where, by when, and how far it got."""

    task_id: str
    action: str
    queue: str
    priority: str
    due_by: datetime
    state: str = "open"

    @property
    def closed(self) -> bool:
        return self.state in ("done", "rejected")

    def seconds_left(self, now: datetime) -> float:
        return (self.due_by - now).total_seconds()


def time_left(seconds: float) -> str:
    """``12:04 left`` / ``1 h 05 left`` / ``breached 3:10 ago``: the SLA countdown."""
    span = abs(int(seconds))
    hours, rest = divmod(span, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours} h {minutes:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"{text} left" if seconds >= 0 else f"breached {text} ago"


@dataclass(frozen=True, slots=True)
class Card:
    """One message in a stream column."""

    event_id: str
    platform: str
    kind: str
    brand: str
    author: str
    followers: int | None
    text: str  # masked
    lang: str
    sentiment: str
    intent: str
    risks: list[tuple[str, list[str]]]  # each risk with the reasons given for it
    priority: str
    priority_reasons: list[str]
    created_at: datetime
    task: TaskBadge | None = None
    live: bool = False


def card(values: Mapping[str, Any], *, task: TaskBadge | None = None,
         live: bool = False) -> Card:
    """A card from an ``events`` row or an ``events.classified`` message (masked text)."""
    author = values.get("author")
    if isinstance(author, Mapping):
        handle, followers = author.get("handle"), author.get("followers")
    else:
        handle, followers = values.get("author_handle"), values.get("author_followers")
    reasons = values.get("reasons") or {}
    if isinstance(reasons, str):
        reasons = orjson.loads(reasons) if reasons else {}
    lang = values.get("lang") or ""
    risks = [str(r) for r in values.get("risks") or []]
    return Card(
        event_id=str(values["event_id"]), platform=str(values["platform"]),
        kind=str(values.get("kind") or ""), brand=str(values.get("brand") or ""),
        author=str(handle or ""), followers=int(followers) if followers is not None else None,
        text=mask_personal_data(str(values.get("text") or ""), lang=lang or None), lang=lang,
        sentiment=str(values.get("sentiment") or ""), intent=str(values.get("intent") or ""),
        risks=[(r, [str(x) for x in reasons.get(r, [])]) for r in risks],
        priority=str(values.get("priority") or ""),
        priority_reasons=[str(x) for x in reasons.get("priority", [])],
        created_at=utc(values["created_at"]), task=task, live=live,
    )


def badge(values: Mapping[str, Any]) -> TaskBadge | None:
    """The task of a live ``tasks.response`` message or of a joined row (None if none)."""
    if not values.get("task_id"):
        return None
    return TaskBadge(str(values["task_id"]), str(values.get("action") or ""),
                     str(values.get("queue") or ""),
                     str(values.get("task_priority") or values.get("priority") or ""),
                     utc(values["due_by"]), str(values.get("state") or "open"))


@dataclass(frozen=True, slots=True)
class Step:
    """One message of an alert's life: open, update, resolved."""

    sequence: int
    status: str
    at: datetime
    count: int
    severity: str


@dataclass
class AlertView:
    """An alert with everything that explains it."""

    alert_id: str
    kind: str
    status: str
    brand: str
    platforms: list[str]
    polarity: str
    severity: str
    window_start: datetime
    opened_at: datetime
    resolved_at: datetime | None
    count: int
    baseline: float
    score: float
    summary: str
    top_terms: list[str]
    trajectory: list[tuple[datetime, int, float]]  # minute, count, baseline
    terms: list[tuple[str, int, float]]  # term, count, expected
    polarity_mix: dict[str, int]
    platform_counts: dict[str, int]
    discounted: int
    steps: list[Step]
    origin_event_id: str
    origin: Card | None = None
    task: TaskBadge | None = None
    context: dict[datetime, int] = field(default_factory=dict)  # messages per minute

    def chart(self) -> charts.Trajectory:
        """Messages per minute from a little before the window, with the baseline."""
        expected = {minute: (count, baseline) for minute, count, baseline in self.trajectory}
        first = self.window_start - CHART_LEAD
        last = max([first, *expected, *self.context])
        last = min(last, first + CHART_SPAN)
        points = []
        minute = first
        while minute <= last:
            count, baseline = expected.get(minute, (self.context.get(minute, 0), None))
            points.append((f"{minute:%H:%M}", count, baseline, minute >= self.window_start))
            minute += timedelta(minutes=1)
        return charts.trajectory(points)

    def term_bars(self) -> list[charts.TermBar]:
        return charts.term_bars(self.terms)


@dataclass(frozen=True, slots=True)
class UrgentTask:
    """An open task and a glimpse of its message."""

    task: TaskBadge
    brand: str
    platform: str
    excerpt: str  # masked
    author: str
    alert_id: str


@dataclass
class QueueView:
    queue: str
    open: int
    breached: int
    tasks: list[UrgentTask] = field(default_factory=list)


_EVENT_COLUMNS = ("event_id", "platform", "kind", "brand", "author_handle", "author_followers",
                  "text", "lang", "sentiment", "intent", "risks", "priority", "reasons",
                  "created_at")
EVENT_COLUMNS = ", ".join(_EVENT_COLUMNS)
SINCE = "now64(3) - toIntervalHour({hours:UInt32})"


def task_state(task_ids: str) -> str:
    """Latest state of the tasks ``task_ids`` (a subquery) from ``task_status``, as
    ``task_outcomes`` orders them: done, rejected, acknowledged, else open."""
    return f"""
        SELECT task_id, multiIf(countIf(status = 'done') > 0, 'done',
                                countIf(status = 'rejected') > 0, 'rejected',
                                countIf(status = 'acknowledged') > 0, 'acknowledged',
                                'open') AS state
        FROM task_status WHERE task_id IN ({task_ids}) GROUP BY task_id"""


def with_their_tasks(recent: str) -> str:
    """The events the query ``recent`` selects, newest first, each with its task."""
    return f"""
    WITH recent AS ({recent}),
    their_tasks AS (
        SELECT event_id, argMin(task_id, created_at) AS task_id,
               argMin(action, created_at) AS action, argMin(queue, created_at) AS queue,
               argMin(priority, created_at) AS task_priority, min(due_by) AS due_by
        FROM tasks
        WHERE created_at >= {SINCE} AND alert_id = ''
          AND event_id IN (SELECT event_id FROM recent)
        GROUP BY event_id)
    SELECT {", ".join(f"r.{c} AS {c}" for c in _EVENT_COLUMNS)},
           t.task_id AS task_id, t.action AS action, t.queue AS queue,
           t.task_priority AS task_priority, t.due_by AS due_by, s.state AS state
    FROM recent AS r
    LEFT JOIN their_tasks AS t ON t.event_id = r.event_id
    LEFT JOIN ({task_state("SELECT task_id FROM their_tasks")}) AS s ON s.task_id = t.task_id
    ORDER BY r.created_at DESC"""


def messages_sql(group: str) -> str:
    """Each column's newest messages (``group``: brand or platform), with their task."""
    assert group in ("brand", "platform")
    return with_their_tasks(f"""
        SELECT * FROM (
            SELECT * FROM (
                SELECT {EVENT_COLUMNS} FROM events
                WHERE created_at >= {SINCE} AND {{condition}}
                ORDER BY created_at DESC LIMIT {{wide:UInt32}} BY {group})
            ORDER BY created_at DESC LIMIT 1 BY event_id)
        ORDER BY created_at DESC LIMIT {{per_column:UInt32}} BY {group}""")


ALERTS_SQL = f"""
SELECT l.alert_id AS alert_id, l.kind AS kind, l.status AS status, l.brand AS brand,
       l.platforms AS platforms, l.polarity AS polarity, l.window_start AS window_start,
       l.opened_at AS opened_at, l.resolved_at AS resolved_at, l.severity AS severity,
       l.count AS count, l.baseline AS baseline, l.peak_score AS score,
       l.origin_event_id AS origin_event_id, l.summary AS summary, l.top_terms AS top_terms,
       a.trajectory AS trajectory, a.polarity_mix AS polarity_mix,
       a.term_excess AS term_excess, a.platform_counts AS platform_counts,
       a.discounted AS discounted, a.steps AS steps
FROM alerts_latest AS l
INNER JOIN (
    SELECT alert_id, argMax(trajectory, sequence) AS trajectory,
           argMax(polarity_mix, sequence) AS polarity_mix,
           argMax(term_excess, sequence) AS term_excess,
           argMax(platform_counts, sequence) AS platform_counts,
           argMax(discounted, sequence) AS discounted,
           arraySort(x -> x.1, groupUniqArray((sequence, status, detected_at, count, severity)))
               AS steps
    FROM alerts WHERE window_start >= {SINCE} GROUP BY alert_id) AS a
ON a.alert_id = l.alert_id
ORDER BY l.status = 'resolved', l.opened_at DESC
LIMIT {{limit:UInt32}}
"""
ORIGINS_SQL = with_their_tasks(f"""
    SELECT {EVENT_COLUMNS} FROM events
    WHERE created_at >= {SINCE} AND event_id IN (
        SELECT origin_event_id FROM alerts WHERE window_start >= {SINCE} AND origin_event_id != '')
    LIMIT 1 BY event_id""")
CRISIS_TASKS_SQL = f"""
WITH crisis AS (
    SELECT alert_id, task_id, any(action) AS action, any(queue) AS queue,
           any(priority) AS priority, min(due_by) AS due_by
    FROM tasks WHERE alert_id != '' AND created_at >= {SINCE} GROUP BY alert_id, task_id)
SELECT c.alert_id AS alert_id, c.task_id AS task_id, c.action AS action, c.queue AS queue,
       c.priority AS priority, c.due_by AS due_by, s.state AS state
FROM crisis AS c
LEFT JOIN ({task_state("SELECT task_id FROM crisis")}) AS s ON s.task_id = c.task_id
ORDER BY c.due_by
"""
MINUTES_SQL = """
SELECT platform, minute, uniqMerge(events) AS events FROM events_per_minute
WHERE minute >= {first:DateTime} AND minute <= {last:DateTime}
  AND ({brand:String} = '' OR brand = {brand:String})
GROUP BY platform, minute
"""
PRIORITY_RANK = "indexOf(['critical', 'high', 'normal', 'low'], priority)"
QUEUES_SQL = """
SELECT queue, count() AS open, countIf(sla_breached) AS breached FROM task_outcomes
WHERE state IN ('open', 'acknowledged') GROUP BY queue ORDER BY queue
"""


def urgent_sql(per_queue: bool) -> str:
    """The most urgent open tasks (in each queue, or overall): by priority, then by
    deadline, with their message."""
    limit = "LIMIT {limit:UInt32} BY queue" if per_queue else "LIMIT {limit:UInt32}"
    return f"""
    WITH urgent AS (
        SELECT task_id, event_id, alert_id, brand, platform, action, queue, priority, due_by,
               state
        FROM task_outcomes WHERE state IN ('open', 'acknowledged')
        ORDER BY {PRIORITY_RANK}, due_by, task_id {limit})
    SELECT u.task_id AS task_id, u.event_id AS event_id, u.alert_id AS alert_id,
           u.brand AS brand, u.platform AS platform, u.action AS action, u.queue AS queue,
           u.priority AS priority, u.due_by AS due_by, u.state AS state, e.text AS text,
           e.author_handle AS author_handle, e.lang AS lang
    FROM urgent AS u
    LEFT JOIN (
        SELECT event_id, any(text) AS text, any(author_handle) AS author_handle,
               any(lang) AS lang
        FROM events WHERE event_id IN (SELECT event_id FROM urgent) GROUP BY event_id) AS e
    ON e.event_id = u.event_id
    ORDER BY {PRIORITY_RANK.replace("priority", "u.priority")}, u.due_by, u.task_id"""


def _urgent(values: Mapping[str, Any]) -> UrgentTask:
    task = badge(values)
    assert task is not None
    lang = str(values.get("lang") or "") or None
    return UrgentTask(task, str(values.get("brand") or ""), str(values.get("platform") or ""),
                      mask_personal_data(str(values.get("text") or ""), lang=lang),
                      str(values.get("author_handle") or ""), str(values.get("alert_id") or ""))


class Reads:
    """The console's queries, on any ClickHouse ``query`` coroutine."""

    def __init__(self, query: Query, history_hours: int) -> None:
        self._query = query
        self.hours = history_hours

    async def _rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        return rows(await self._query(sql, {"hours": self.hours, **params}))

    async def messages(self, filters: Filters, per_column: int = 25) -> dict[str, list[Card]]:
        """Each column's newest messages, newest first, with their task."""
        condition, params = filters.sql()
        found = await self._rows(messages_sql(filters.group).replace("{condition}", condition),
                                 wide=2 * per_column, per_column=per_column, **params)
        columns: dict[str, list[Card]] = {}
        for values in found:
            columns.setdefault(filters.column(values["brand"], values["platform"]), []).append(
                card(values, task=badge(values)))
        return columns

    async def alerts(self, limit: int = 12) -> list[AlertView]:
        """Open alerts first, then the latest resolved ones, each explained."""
        found = await self._rows(ALERTS_SQL, limit=limit)
        if not found:
            return []
        origins = {str(v["event_id"]): card(v, task=badge(v))
                   for v in await self._rows(ORIGINS_SQL)}
        tasks = {str(v["alert_id"]): badge(v) for v in await self._rows(CRISIS_TASKS_SQL)}
        views = []
        for v in found:
            view = _alert(v)
            view.origin = origins.get(view.origin_event_id)
            view.task = tasks.get(view.alert_id)
            view.context = await self._minutes(view)
            views.append(view)
        return views

    async def _minutes(self, alert: AlertView) -> dict[datetime, int]:
        """Messages per minute around the alert, on its platforms (its brand's, for a spike)."""
        first = alert.window_start - CHART_LEAD
        found = await self._rows(
            MINUTES_SQL, first=first.replace(tzinfo=None).isoformat(sep=" "),
            last=(first + CHART_SPAN).replace(tzinfo=None).isoformat(sep=" "),
            brand=alert.brand)
        counts: dict[datetime, int] = {}
        for v in found:
            if v["platform"] in alert.platforms:
                minute = utc(v["minute"])
                counts[minute] = counts.get(minute, 0) + int(v["events"])
        return counts

    async def queues(self, per_queue: int = 8) -> list[QueueView]:
        """Open tasks per queue, past-due ones counted, the most urgent listed."""
        views = {str(v["queue"]): QueueView(str(v["queue"]), int(v["open"]), int(v["breached"]))
                 for v in await self._rows(QUEUES_SQL)}
        for v in await self._rows(urgent_sql(per_queue=True), limit=per_queue):
            # A queue whose first task came between the two queries: counted next time.
            queue = str(v["queue"])
            views.setdefault(queue, QueueView(queue, 0, 0)).tasks.append(_urgent(v))
        return list(views.values())

    async def most_urgent(self, limit: int = 5) -> list[UrgentTask]:
        """The most urgent open tasks, all queues together."""
        return [_urgent(v) for v in await self._rows(urgent_sql(per_queue=False), limit=limit)]


def _alert(v: Mapping[str, Any]) -> AlertView:
    trajectory = [fields(p, ("minute", "count", "baseline")) for p in v["trajectory"] or []]
    terms = [fields(t, ("term", "count", "expected")) for t in v["term_excess"] or []]
    steps = [fields(s, ("sequence", "status", "at", "count", "severity")) for s in v["steps"]]
    return AlertView(
        alert_id=str(v["alert_id"]), kind=str(v["kind"]), status=str(v["status"]),
        brand=str(v["brand"] or ""), platforms=[str(p) for p in v["platforms"]],
        polarity=str(v["polarity"] or ""), severity=str(v["severity"]),
        window_start=utc(v["window_start"]), opened_at=utc(v["opened_at"]),
        resolved_at=utc(v["resolved_at"]) if v["resolved_at"] else None,
        count=int(v["count"]), baseline=float(v["baseline"]), score=float(v["score"]),
        summary=str(v["summary"]), top_terms=[str(t) for t in v["top_terms"] or []],
        trajectory=[(utc(p["minute"]), int(p["count"]), float(p["baseline"]))
                    for p in trajectory],
        terms=[(str(t["term"]), int(t["count"]), float(t["expected"])) for t in terms],
        polarity_mix={str(k): int(n) for k, n in (v["polarity_mix"] or {}).items()},
        platform_counts={str(k): int(n) for k, n in (v["platform_counts"] or {}).items()},
        discounted=int(v["discounted"] or 0),
        steps=[Step(int(s["sequence"]), str(s["status"]), utc(s["at"]), int(s["count"]),
                    str(s["severity"])) for s in steps],
        origin_event_id=str(v["origin_event_id"] or ""),
    )
