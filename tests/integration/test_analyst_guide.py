"""Every SQL query of docs/analysts.md runs on data the real pipeline stored, and answers.

Traffic: simulated deliveries on every platform (malformed ones included, so there
are dead letters), the hand-labelled messages of the classifier evaluation set
(hate, threats, scams, personal data…) and the messages of a scripted crisis, all
published as raw payloads and processed by a running worker into the embedded
ClickHouse. The
crisis's alerts come from the same detector run offline on the scripted day, and
task statuses are what a helpdesk would answer; both are stored through the row
builders the stream uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import takewhile
from pathlib import Path

import orjson

from base.settings import Settings
from core.brands import BrandDirectory
from core.surge.pipeline import SurgePipeline
from lab.scenarios import scenario
from lab.simulator import RawMessage, Simulator, for_wire, render
from schemas.alerts import Alert, AlertKind
from schemas.events import SocialEvent
from schemas.tasks import TaskStatus, TaskStatusValue
from sinks.rows import alert_rows, task_status_rows
from tests.support.publish import publish
from tests.support.worker import eventually, running_worker

GUIDE = Path(__file__).parents[2] / "docs" / "analysts.md"
LABELLED = Path(__file__).parents[1] / "data" / "classify_eval.jsonl"
QUERY = re.compile(r"^### (?P<title>[^\n]+)\n(?:(?!^### ).)*?```sql\n(?P<sql>.*?)```", re.S | re.M)


def guide_queries() -> dict[str, str]:
    """Heading → SQL of every ```sql block of the guide."""
    text = GUIDE.read_text("utf-8")
    found = {m["title"]: m["sql"] for m in QUERY.finditer(text)}
    assert all(title[0].isdigit() for title in found), "queries sit under numbered headings"
    assert len(found) == text.count("```sql"), "every sql block sits under its own heading"
    return found


def crisis(brands: BrandDirectory) -> tuple[list[Alert], list[RawMessage]]:
    """Alerts of the scripted sharp spike, and the raw deliveries of its first half hour."""
    events = list(takewhile(lambda e: e.created_at < datetime(2026, 11, 3, 13, tzinfo=UTC),
                            scenario("sharp_spike", directory=brands).events))
    detector = SurgePipeline()
    alerts = [a for e in events for a in detector.feed_event(e)]
    spike = next(a for a in alerts if a.kind == AlertKind.SPIKE)
    start, end = spike.window_start - timedelta(minutes=10), spike.window_start + \
        timedelta(minutes=20)
    window = [render(for_wire(e, brands)) for e in events
              if e.brand == spike.brand and start <= e.created_at < end]
    return alerts, window


def labelled(brands: BrandDirectory) -> Iterator[RawMessage]:
    """Raw deliveries of the classifier evaluation messages (the risky ones included)."""
    for line in LABELLED.read_bytes().splitlines():
        record = orjson.loads(line)
        del record["expected"], record["split"]
        yield render(for_wire(SocialEvent.model_validate(record), brands))


def helpdesk_answers(tasks: list[list[str]]) -> list[TaskStatus]:
    """Statuses a helpdesk would publish: most tasks done (some late), some only
    acknowledged, some rejected, some untouched."""
    statuses = []
    for i, (task_id, created) in enumerate(tasks):
        at = datetime.fromisoformat(created).replace(tzinfo=UTC)
        if i % 10 == 0:
            continue
        statuses.append(TaskStatus(task_id=task_id, status=TaskStatusValue.ACKNOWLEDGED,
                                   at=at + timedelta(minutes=1 + i % 4), by="agent"))
        if i % 10 == 1:
            statuses.append(TaskStatus(task_id=task_id, status=TaskStatusValue.REJECTED,
                                       at=at + timedelta(minutes=5), note="not for us"))
        elif i % 10 != 2:
            statuses.append(TaskStatus(task_id=task_id, status=TaskStatusValue.DONE,
                                       at=at + timedelta(minutes=10 + 25 * (i % 7))))
    return statuses


async def test_every_query_of_the_analyst_guide_answers_on_pipeline_data(
    settings: Settings,
) -> None:
    queries = guide_queries()
    brands = BrandDirectory.load()
    alerts, crisis_messages = crisis(brands)
    simulated = list(Simulator(brands, seed=11, invalid_share=0.03).messages(1500))
    messages = simulated + list(labelled(brands)) + crisis_messages
    await publish(settings, messages)

    async with running_worker(settings) as services:
        writer = services.writer

        async def processed() -> bool:
            letters = (await writer.query("SELECT count() FROM dead_letters")).rows[0][0]
            return (services.metrics.stage_totals()["raw"] >= len(messages)
                    and int(letters) >= sum(m.malformed for m in simulated))

        await eventually(processed, within=90, what="every delivery processed and stored")
        stored_at = datetime.now(UTC)
        assert (await writer.write(alert_rows(alerts, stored_at), "alerts:guide")).ok
        tasks = await writer.query(
            "SELECT task_id, toString(min(created_at)) FROM tasks GROUP BY task_id "
            "ORDER BY task_id")
        assert (await writer.write(task_status_rows(helpdesk_answers(tasks.rows), stored_at),
                                   "task_status:guide")).ok

        empty, failed, answers = [], {}, {}
        for title, sql in queries.items():
            try:
                result = await writer.query(sql)
            except Exception as exc:  # collect every failure, not just the first
                failed[title] = str(exc).splitlines()[0]
                continue
            if not result.rows:
                empty.append(title)
            answers[title.split(".")[0]] = [dict(zip(result.columns, r, strict=True))
                                            for r in result.rows]

    assert len(queries) >= 10
    assert failed == {}
    assert empty == []
    assert {r["alert_status"] for r in answers["3"]} >= {"open", "update"}
    assert sum(r["exposing"] for r in answers["10"]) > 0
    assert 0 < min(r["share_within_sla"] for r in answers["6"]) < 1
