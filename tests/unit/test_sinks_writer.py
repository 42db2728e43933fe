"""The ClickHouse writer on the real embedded engine: bad rows isolated, outages waited out."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from base.metrics import Metrics
from schemas.events import Author, ClassifiedEvent, Kind, Platform
from sinks.clickhouse import EmbeddedClickHouse, Rows
from sinks.migrate import migrate
from sinks.rows import EVENT_COLUMNS, event_rows
from sinks.writer import ClickHouseWriter, RefusedRow, WriteResult, dedup_token, is_data_error

NOW = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


@pytest.fixture
def clickhouse(clickhouse_dir: Path) -> Iterator[EmbeddedClickHouse]:
    ch = EmbeddedClickHouse(clickhouse_dir, "vigie")
    migrate(ch)
    yield ch
    ch.close()


@pytest.fixture
def writer(clickhouse: EmbeddedClickHouse) -> Iterator[ClickHouseWriter]:
    w = ClickHouseWriter(clickhouse, Metrics(), max_backoff_s=0.01)
    yield w
    w.close()


def events(n: int) -> Rows:
    """``n`` valid ``events`` rows from classified events on raw.x, offsets 0..n-1."""
    made = [
        (ClassifiedEvent(event_id=f"x:{i}", platform=Platform.X, kind=Kind.MENTION,
                         brand="aurore_air", author=Author(id=f"a{i}"), text=f"message {i}",
                         created_at=NOW + timedelta(seconds=i)), "raw.x", 0, i)
        for i in range(n)
    ]
    return event_rows(made, NOW)


def spoil(rows: Rows, index: int, column: str, value: Any) -> Rows:
    """``rows`` with one value replaced by something its column type refuses."""
    at = rows.columns.index(column)
    bad = list(rows.rows[index])
    bad[at] = value
    return Rows(rows.table, rows.columns, [*rows.rows[:index], tuple(bad),
                                           *rows.rows[index + 1:]])


async def stored_ids(writer: ClickHouseWriter) -> set[str]:
    return {r[0] for r in (await writer.query("SELECT event_id FROM events")).rows}


async def test_a_valid_batch_is_stored_in_one_insert(writer: ClickHouseWriter) -> None:
    result = await writer.write(events(50), "events:t1")

    assert (result.ok, result.stored, result.inserts) == (True, 50, 1)
    assert len(await stored_ids(writer)) == 50


def test_the_embedded_engine_hands_the_memory_inserts_freed_back_to_the_system(
    clickhouse: EmbeddedClickHouse, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its allocator would keep those pages as the worker's private memory for good.
    monkeypatch.setattr("sinks.clickhouse.RELEASE_EVERY_S", 0.0)
    rows = events(20)
    for half in (rows.rows[:10], rows.rows[10:]):
        clickhouse.insert(Rows(rows.table, rows.columns, half))

    assert clickhouse.releases == 2
    assert clickhouse.query("SELECT count() FROM events").rows == [[20]]


async def test_rows_whose_values_violate_column_types_are_isolated_and_the_rest_stored(
    writer: ClickHouseWriter,
) -> None:
    rows = spoil(spoil(events(100), 17, "source_partition", "not a number"),
                 80, "created_at", "yesterday-ish")

    result = await writer.write(rows, "events:t2")

    assert result.stored == 98
    assert [(r.index, r.row[0]) for r in result.refused] == [(17, "x:17"), (80, "x:80")]
    assert {r.error_type for r in result.refused} <= {
        "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "CANNOT_PARSE_NUMBER", "CANNOT_PARSE_DATETIME"}
    assert all(r.reason.startswith("Code: ") for r in result.refused)
    assert await stored_ids(writer) == {f"x:{i}" for i in range(100)} - {"x:17", "x:80"}


async def test_writes_arriving_during_an_insert_share_the_next_one_and_keep_their_results(
    writer: ClickHouseWriter,
) -> None:
    rows = events(30)
    first, second, third = (Rows(rows.table, rows.columns, rows.rows[i : i + 10])
                            for i in (0, 10, 20))
    second = spoil(second, 2, "author_followers", -5)

    results = await asyncio.gather(writer.write(first, "events:a"),
                                   writer.write(second, "events:b"),
                                   writer.write(third, "events:c"))

    assert [r.stored for r in results] == [10, 9, 10]
    assert [r.index for r in results[1].refused] == [2]  # its own index, not the merged one
    assert results[1].dead_letters(failed_at=NOW)[0].offset == 12
    assert results[0].inserts == 1
    assert results[1].inserts == results[2].inserts > 1, "one merged write, halved once"
    assert await stored_ids(writer) == {f"x:{i}" for i in range(30)} - {"x:12"}


async def test_a_caller_cancelled_while_its_write_waits_leaves_the_others_unharmed(
    writer: ClickHouseWriter,
) -> None:
    rows = events(20)
    first, second = (Rows(rows.table, rows.columns, rows.rows[i : i + 10]) for i in (0, 10))
    running = asyncio.ensure_future(writer.write(first, "events:a"))
    waiting = asyncio.ensure_future(writer.write(second, "events:b"))
    await asyncio.sleep(0)  # both started: the first inserts, the second waits its turn
    waiting.cancel()

    assert (await running).stored == 10
    assert waiting.cancelled()
    again = await writer.write(Rows(rows.table, rows.columns, rows.rows[:1]), "events:c")
    assert again.stored == 1


async def test_a_write_within_the_minimum_interval_waits_and_takes_later_writes_along(
    clickhouse: EmbeddedClickHouse,
) -> None:
    metrics = Metrics()
    writer = ClickHouseWriter(clickhouse, metrics, min_interval_s=0.3)
    try:
        rows = events(30)
        first, second, third = (Rows(rows.table, rows.columns, rows.rows[i : i + 10])
                                for i in (0, 10, 20))
        await writer.write(first, "events:a")
        pending = asyncio.ensure_future(writer.write(second, "events:b"))
        await asyncio.sleep(0.05)  # well inside the interval: joins the waiting write
        late = await writer.write(third, "events:c")
        early = await pending
        assert (early.stored, late.stored) == (10, 10)
        assert metrics.registry.get_sample_value(
            "vigie_clickhouse_insert_seconds_count", {"table": "events"}) == 2
        assert len(await stored_ids(writer)) == 30
    finally:
        writer.close()


async def test_refused_rows_become_dead_letters_with_the_row_and_its_source_position(
    writer: ClickHouseWriter,
) -> None:
    result = await writer.write(spoil(events(8), 3, "author_followers", -5), "events:t3")

    [letter] = result.dead_letters(failed_at=NOW)
    payload = orjson.loads(base64.b64decode(letter.payload_b64))
    assert (letter.stage, letter.source_topic, letter.partition, letter.offset) == (
        "clickhouse.events", "raw.x", 0, 3)
    assert (letter.key, letter.platform, letter.error_type) == ("x:3", "x", "CANNOT_PARSE_NUMBER")
    assert payload["author_followers"] == -5
    assert set(payload) == set(EVENT_COLUMNS)


def test_refused_rows_without_a_source_position_get_one_from_their_content() -> None:
    refused = [RefusedRow(0, ("t1", 2**70), "too big", "OverflowError"),
               RefusedRow(1, ("t2", 3), "bad", "CANNOT_PARSE_NUMBER")]
    result = WriteResult("tasks", ("task_id", "priority"), refused=refused)

    first, second = result.dead_letters(failed_at=NOW)
    again = result.dead_letters(failed_at=NOW)

    assert {first.source_topic, second.source_topic} == {"clickhouse.tasks"}
    assert first.offset != second.offset
    assert [d.offset for d in again] == [first.offset, second.offset]
    assert orjson.loads(base64.b64decode(first.payload_b64))["priority"] == str(2**70)


async def test_a_batch_of_only_bad_rows_is_refused_whole_and_never_retried_forever(
    writer: ClickHouseWriter,
) -> None:
    rows = events(4)
    at = rows.columns.index("dup_count")
    all_bad = Rows(rows.table, rows.columns,
                   [(*r[:at], "many", *r[at + 1:]) for r in rows.rows])

    result = await writer.write(all_bad, "events:t4")

    assert (result.stored, len(result.refused)) == (0, 4)
    assert result.inserts == 7  # 1 + 2 + 4: a full binary split, no retries


async def test_a_retried_batch_with_the_same_token_stores_nothing_twice(
    writer: ClickHouseWriter,
) -> None:
    rows = spoil(events(20), 5, "source_offset", "x")
    token = dedup_token("events", [("raw.x", 0, 0, 19)])

    await writer.write(rows, token)
    await writer.write(rows, token)

    count = (await writer.query("SELECT count() FROM events")).rows[0][0]
    assert int(count) == 19


class FlakyOutage:
    """Fake ClickHouse that is down (connection refused, then a server timeout) for the
    first ``failures`` inserts, then delegates to the real engine."""

    def __init__(self, real: EmbeddedClickHouse, failures: int) -> None:
        self.real = real
        self.errors: list[Exception] = [
            ConnectionRefusedError("connection refused"),
            RuntimeError("Code: 159. DB::Exception: Timeout exceeded (TIMEOUT_EXCEEDED)"),
            RuntimeError("Code: 252. DB::Exception: Too many parts (TOO_MANY_PARTS)"),
        ][:failures]
        self.attempts = 0

    def insert(self, rows: Rows, dedup_token: str | None = None) -> None:
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)
        self.real.insert(rows, dedup_token)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


async def test_fake_outage_connection_refused_and_overload_are_retried_until_stored(
    clickhouse: EmbeddedClickHouse,
) -> None:
    flaky = FlakyOutage(clickhouse, failures=3)
    metrics = Metrics()
    writer = ClickHouseWriter(flaky, metrics, max_backoff_s=0.01)  # type: ignore[arg-type]
    try:
        result = await writer.write(events(10), "events:t5")
    finally:
        writer.close()

    assert (result.ok, result.stored, flaky.attempts) == (True, 10, 4)
    assert metrics.insert_retries.labels("events")._value.get() == 3


@pytest.mark.parametrize(
    ("error", "data"),
    [
        (ConnectionRefusedError("refused"), False),
        (TimeoutError("read timed out"), False),
        (RuntimeError("Code: 241. DB::Exception: Memory limit exceeded"), False),
        (RuntimeError("Code: 60. DB::Exception: Table vigie.events does not exist"), False),
        (RuntimeError("Code: 27. DB::Exception: Cannot parse input"), True),
        (RuntimeError("Code: 53. DB::Exception: Type mismatch"), True),
        (TypeError("Type is not JSON serializable: object"), True),
        (OverflowError("int too big to convert"), True),
    ],
)
def test_errors_are_transient_unless_clickhouse_refuses_the_data(
    error: Exception, data: bool
) -> None:
    assert is_data_error(error) is data


async def test_an_unsafe_dedup_token_is_a_bug_raised_at_once(writer: ClickHouseWriter) -> None:
    with pytest.raises(ValueError, match="unsafe deduplication token"):
        await writer.write(events(1), "events:'; DROP TABLE events")
