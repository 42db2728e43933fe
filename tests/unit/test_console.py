"""The console's parts that need no browser: filters, what it reads from ClickHouse, what a
page's live stream shows, and how the page is rendered."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from base.settings import Settings
from core.brands import BrandDirectory
from schemas.alerts import Alert, AlertKind, AlertStatus, Polarity, Severity
from schemas.alerts import TrajectoryPoint as Point
from schemas.events import Author, ClassifiedEvent, Kind, Platform, Priority, Risk, Sentiment
from sinks.clickhouse import EmbeddedClickHouse, QueryResult, Rows
from sinks.migrate import migrate
from sinks.rows import alert_rows, event_rows
from vigie.console import charts
from vigie.console.digest import digest
from vigie.console.filters import Filters
from vigie.console.live import MessageStream, Record
from vigie.console.reads import Reads, TaskBadge, card, time_left
from vigie.console.web import console_for

NOW = datetime.now(UTC).replace(microsecond=0)
PHONE = "+33 6 12 34 56 78"


def event(n: int, *, brand: str | None = "aurore_air", platform: Platform = Platform.X,
          risks: tuple[Risk, ...] = (), priority: Priority = Priority.NORMAL, lang: str = "fr",
          text: str = "Vol annulé, aucune info", age_s: int = 0) -> ClassifiedEvent:
    return ClassifiedEvent(
        event_id=f"{platform.value}:{n}", platform=platform, kind=Kind.COMMENT, brand=brand,
        author=Author(id=f"a{n}", handle=f"user{n}", followers=10 * n), text=text,
        created_at=NOW - timedelta(seconds=age_s), lang=lang, sentiment=Sentiment.NEGATIVE,
        risks=list(risks), priority=priority,
        reasons={r.value: [f"rule:{r.value} cue"] for r in risks} | {"priority": ["rule:x"]})


EVENTS = [
    event(1), event(2, risks=(Risk.SCAM,), priority=Priority.HIGH, age_s=10),
    event(3, brand="velo_city", platform=Platform.FACEBOOK, lang="en", age_s=20),
    event(4, brand=None, platform=Platform.FACEBOOK, risks=(Risk.HATE, Risk.THREAT),
          priority=Priority.CRITICAL, age_s=30),
    event(5, brand="velo_city", platform=Platform.TIKTOK, risks=(Risk.PERSONAL_DATA,),
          text=f"Rappelez-moi au {PHONE}", age_s=40),
]
FILTERS = [
    Filters(), Filters(group="platform"), Filters(brand="velo_city"), Filters(brand="_"),
    Filters(platform=Platform.FACEBOOK), Filters(risk="any"), Filters(risk=Risk.HATE),
    Filters(priority=Priority.HIGH), Filters(lang="en"),
    Filters(group="platform", brand="aurore_air", risk="any"),
]


@pytest.fixture(scope="module")
def clickhouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedClickHouse]:
    """The migrated schema with EVENTS stored unmasked (as with masking turned off) and a
    task, acknowledged, for event 2."""
    ch = EmbeddedClickHouse(tmp_path_factory.mktemp("console"), "vigie")
    migrate(ch)
    ch.insert(event_rows([(e, "raw.x", 0, i) for i, e in enumerate(EVENTS)], NOW))
    naive = NOW.replace(tzinfo=None)
    ch.insert(Rows("tasks", ("task_id", "event_id", "brand", "platform", "action", "queue",
                             "priority", "created_at", "due_by", "published_at"),
                   [("t2", "x:2", "aurore_air", "x", "moderate", "moderation", "high",
                     naive - timedelta(seconds=10), naive + timedelta(minutes=50), naive)]))
    ch.insert(Rows("task_status", ("task_id", "status", "at", "stored_at"),
                   [("t2", "acknowledged", naive, naive)]))
    yield ch
    ch.close()


def reads_of(ch: EmbeddedClickHouse) -> Reads:
    async def query(sql: str, params: dict[str, Any] | None = None) -> QueryResult:
        return ch.query(sql, params)

    return Reads(query, history_hours=1)


@pytest.mark.parametrize("query", [
    {"platform": "myspace"}, {"brand": "Aurore'Air"}, {"risk": "rude"}, {"lang": "fr'--"},
    {"group": "author"}, {"priority": "urgent"},
])
def test_filters_refuse_anything_outside_the_contracts(query: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Filters.of(query)


def test_filters_round_trip_through_the_live_streams_address() -> None:
    filters = Filters(group="platform", brand="velo_city", risk="any", lang="en")
    assert Filters.of(dict(re.findall(r"(\w+)=(\w*)", filters.query_string()))) == filters


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: f.query_string())
async def test_the_history_and_the_live_stream_let_the_same_messages_through(
    clickhouse: EmbeddedClickHouse, filters: Filters,
) -> None:
    columns = await reads_of(clickhouse).messages(filters)
    shown = {c.event_id: key for key, cards in columns.items() for c in cards}
    expected = {e.event_id: filters.column(e.brand, e.platform.value) for e in EVENTS
                if filters.matches(e.brand, e.platform.value, [r.value for r in e.risks],
                                   e.priority.value, e.lang)}
    assert shown == expected
    assert expected  # every filter here lets something through


async def test_history_columns_are_newest_first_with_each_task_and_masked_text(
    clickhouse: EmbeddedClickHouse,
) -> None:
    columns = await reads_of(clickhouse).messages(Filters())
    assert [c.event_id for c in columns["aurore_air"]] == ["x:1", "x:2"]
    task = columns["aurore_air"][1].task
    assert task is not None
    assert (task.action, task.queue, task.state) == ("moderate", "moderation", "acknowledged")
    [masked] = [c for c in columns["velo_city"] if c.event_id == "tiktok:5"]
    assert PHONE not in masked.text
    assert masked.text.startswith("Rappelez-moi au [")
    assert masked.risks == [("personal_data", ["rule:personal_data cue"])]


def live(value: ClassifiedEvent) -> Record:
    return Record("message", value.model_dump(mode="json"))


def task_record(event_id: str, task_id: str) -> Record:
    return Record("task", {"task_id": task_id, "event": {"event_id": event_id},
                           "action": "reply_public", "queue": "support", "priority": "normal",
                           "due_by": (NOW + timedelta(hours=1)).isoformat()})


def test_a_live_message_waits_briefly_for_its_task_then_goes_without() -> None:
    stream = MessageStream(Filters(), hold_s=1.0)
    stream.offer(live(EVENTS[0]), now=0.0)
    stream.offer(live(EVENTS[1]), now=0.0)
    assert stream.due(now=0.1) == []
    stream.offer(task_record("x:1", "t1"), now=0.2)
    [with_task] = stream.due(now=0.3)
    assert with_task.event_id == "x:1"
    assert with_task.task is not None
    assert with_task.task.task_id == "t1"
    assert with_task.live
    [without] = stream.due(now=1.1)
    assert (without.event_id, without.task) == ("x:2", None)


def test_a_task_that_came_first_is_found_by_its_message() -> None:
    stream = MessageStream(Filters())
    stream.offer(task_record("x:1", "t1"), now=0.0)
    stream.offer(live(EVENTS[0]), now=0.1)
    [shown] = stream.due(now=0.1)
    assert shown.task is not None
    assert shown.task.task_id == "t1"


def test_a_live_stream_shows_what_its_filters_let_through_the_newest_past_its_rate() -> None:
    stream = MessageStream(Filters(platform=Platform.X), hold_s=0.0, per_flush=3)
    for n in range(10):
        stream.offer(live(event(100 + n)), now=0.0)
    stream.offer(live(EVENTS[2]), now=0.0)  # facebook
    shown = stream.due(now=0.0)
    assert [c.event_id for c in shown] == ["x:107", "x:108", "x:109"]
    assert (stream.matched, stream.skipped) == (10, 7)


def test_live_text_is_masked_even_if_the_topic_carried_it_unmasked() -> None:
    shown = card(EVENTS[4].model_dump(mode="json"), live=True)
    assert PHONE not in shown.text


@pytest.mark.parametrize(("seconds", "text"), [
    (754, "12:34 left"), (3900, "1 h 05 left"), (0, "0:00 left"), (-190, "breached 3:10 ago"),
    (-7300, "breached 2 h 01 ago"),
])
def test_sla_countdown_reads_like_a_clock(seconds: float, text: str) -> None:
    assert time_left(seconds) == text


def test_the_trajectory_scales_bars_to_the_peak_and_ticks_the_known_baselines() -> None:
    chart = charts.trajectory([("10:00", 2, None, False), ("10:01", 40, 4.0, True),
                               ("10:02", 20, 5.0, True)], width=300, height=80)
    assert [b.height for b in chart.bars] == [4.0, 80.0, 40.0]
    assert [b.in_window for b in chart.bars] == [False, True, True]
    assert chart.baseline == [(100.0, 200.0, 72.0), (200.0, 300.0, 70.0)]
    assert chart.peak == 40


def test_a_message_cannot_inject_markup_into_the_page(
    clickhouse: EmbeddedClickHouse,
) -> None:
    hostile = event(9, text='<script>alert(1)</script><img src=x onerror="alert(2)">')
    context = console_for(Settings(), reads_of(clickhouse)._query, BrandDirectory.load())
    html = context.render("card.html", c=card(hostile.model_dump(mode="json")))
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_vendored_front_end_files_are_the_ones_recorded() -> None:
    static = Path(__file__).resolve().parents[2] / "vigie" / "console" / "static"
    recorded = dict(re.findall(r"^\| (\S+\.js) \| \S+ \| \S+ \| ([0-9a-f]{64}) \|$",
                               (static / "VENDOR.md").read_text(), re.MULTILINE))
    assert set(recorded) == {p.name for p in static.glob("*.min.js")}
    for name, digest_ in recorded.items():
        assert hashlib.sha256((static / name).read_bytes()).hexdigest() == digest_, name


def test_the_terminal_digest_names_the_task_and_its_countdown() -> None:
    from rich.console import Console

    from vigie.console.reads import UrgentTask

    urgent = [UrgentTask(TaskBadge("t1", "moderate", "moderation", "critical",
                                   NOW - timedelta(minutes=3)), "aurore_air", "x",
                         "Arnaque [phone]", "user1", "")]
    out = Console(record=True, width=160)
    out.print(digest([], urgent, "http://127.0.0.1:6070", serving=True, now=NOW,
                     brand_name=str))
    text = out.export_text()
    assert "no alert" in text
    assert "breached 3:00 ago" in text
    assert "@user1: Arnaque [phone]" in text
    assert "console: http://127.0.0.1:6070 — serving until Ctrl-C" in text


async def test_a_queue_whose_first_task_arrives_between_two_reads_is_shown(
    clickhouse: EmbeddedClickHouse,
) -> None:
    """The queue counts and the urgent tasks are two queries: a crisis task landing
    between them (as the alert's does, while its signal reloads the queues) once made
    the page fail."""
    naive = NOW.replace(tzinfo=None)
    calls = 0

    async def query(sql: str, params: dict[str, Any] | None = None) -> QueryResult:
        nonlocal calls
        calls += 1
        if calls == 2:
            clickhouse.insert(Rows(
                "tasks", ("task_id", "event_id", "alert_id", "queue", "priority", "action",
                          "created_at", "due_by", "published_at"),
                [("c1", "", "alert-1", "crisis", "critical", "crisis_response", naive,
                  naive + timedelta(minutes=15), naive)]))
        return clickhouse.query(sql, params)

    queues = {q.queue: q for q in await Reads(query, history_hours=1).queues()}
    assert [t.task.task_id for t in queues["crisis"].tasks] == ["c1"]
    assert queues["moderation"].open == 1


async def test_an_alerts_origin_message_shows_its_own_task(
    clickhouse: EmbeddedClickHouse,
) -> None:
    start = NOW - timedelta(minutes=5)
    clickhouse.insert(alert_rows([Alert(
        alert_id="spike-aurore_air-negative-origin", kind=AlertKind.SPIKE,
        status=AlertStatus.OPEN, brand="aurore_air", platforms=[Platform.X],
        polarity=Polarity.NEGATIVE, window_start=start, detected_at=NOW,
        severity=Severity.HIGH, count=40, baseline=1.4, score=24.9, top_terms=["grève"],
        sample_event_ids=["x:2"], origin_event_id="x:2", sequence=0,
        summary="negative surge", trajectory=[Point(minute=start, count=40, baseline=1.4)],
        polarity_mix={"negative": 40}, term_excess=[], platform_counts={"x": 40})], NOW))

    [view] = [a for a in await reads_of(clickhouse).alerts()
              if a.alert_id == "spike-aurore_air-negative-origin"]
    assert view.origin is not None
    assert view.origin.event_id == "x:2"
    assert view.origin.task is not None
    assert (view.origin.task.task_id, view.origin.task.state) == ("t2", "acknowledged")
