"""Async ClickHouse writer: one worker thread, transient failures retried, bad rows isolated.

Guarantees of :meth:`ClickHouseWriter.write`:

- It returns only once every row of the batch is either stored or refused. While
  ClickHouse is unreachable, overloaded or timing out it keeps retrying (exponential
  backoff with jitter, capped), so the calling agent holds its batch unacknowledged
  and consumption pauses; the ``insert_deduplication_token`` makes a retried insert
  that had in fact succeeded a no-op.
- When ClickHouse refuses the *data* (a value it cannot parse or that does not fit
  its column), retrying cannot help: the batch is split in halves, recursively, until
  the refused rows are isolated; every other row is stored, and the refused ones are
  returned in :class:`WriteResult` with ClickHouse's reason, for the caller to
  dead-letter. A bad row never blocks the stream.
- Writes to one table that arrive while an insert into it runs, or within
  ``min_interval_s`` of the previous one, are merged into the next insert (one insert
  for several batches: ClickHouse prefers fewer, larger ones, and a worker that
  computes faster than it stores catches up). Each caller still gets the result of
  its own rows. Memory is bounded by the batches the callers hold
  until their write returns; halving only slices them.

Calls are serialized on one thread because a chdb session is not thread-safe and a
server gains nothing from concurrent writers of one worker.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_random_exponential

from base.metrics import Metrics
from schemas.deadletter import DeadLetter
from sinks.clickhouse import ClickHouse, QueryResult, Rows, safe_token

log = logging.getLogger(__name__)

# ClickHouse error codes meaning "this data does not fit the table": retrying the
# same rows fails the same way. Anything else (network, timeouts, TOO_MANY_PARTS,
# MEMORY_LIMIT_EXCEEDED, a missing table during a deploy) is retried.
DATA_ERROR_CODES = frozenset({
    6,    # CANNOT_PARSE_TEXT
    25,   # CANNOT_PARSE_ESCAPE_SEQUENCE
    26,   # CANNOT_PARSE_QUOTED_STRING
    27,   # CANNOT_PARSE_INPUT_ASSERTION_FAILED
    38,   # CANNOT_PARSE_DATE
    41,   # CANNOT_PARSE_DATETIME
    53,   # TYPE_MISMATCH
    69,   # ARGUMENT_OUT_OF_BOUND
    70,   # CANNOT_CONVERT_TYPE
    72,   # CANNOT_PARSE_NUMBER
    117,  # INCORRECT_DATA
    130,  # CANNOT_READ_ARRAY_FROM_TEXT
    131,  # TOO_LARGE_STRING_SIZE
    190,  # SIZES_OF_ARRAYS_DONT_MATCH
    321,  # VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
    349,  # CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
    377,  # CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING
    407,  # DECIMAL_OVERFLOW
    467,  # CANNOT_PARSE_BOOL
})
_CODE = re.compile(r"\bCode:\s*(\d+)")
_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)")
_REASON_CHARS = 500


def dedup_token(table: str, positions: Iterable[tuple[str, int, int, int]]) -> str:
    """A token naming a batch by its source ranges ``(topic, partition, first, last)``."""
    spans = ",".join(f"{t}/{p}/{a}-{b}" for t, p, a, b in sorted(positions))
    return f"{table}:{hashlib.sha256(spans.encode()).hexdigest()[:32]}"


def content_digest(rows: Rows) -> str:
    """What the batch holds (its rows' keys, the first column): part of every token, so a
    batch that reuses old offsets (a new broker, a reset topic) is never mistaken for a
    retry of an insert that happened and silently dropped by ClickHouse."""
    keys = "\n".join(str(row[0]) for row in rows.rows)
    return hashlib.sha256(keys.encode()).hexdigest()[:16]


def error_code(exc: BaseException) -> int | None:
    """The ClickHouse error code of ``exc``: clickhouse-connect's ``code``, else the message's."""
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    match = _CODE.search(str(exc))
    return int(match.group(1)) if match else None


def is_data_error(exc: BaseException) -> bool:
    """Whether retrying ``exc`` is pointless because the rows themselves are refused.

    ClickHouse errors are judged by their code (:data:`DATA_ERROR_CODES`). Without a
    code, network errors and timeouts (``OSError``, clickhouse-connect's
    ``OperationalError``) are transient, while a value the client could not encode
    before sending anything (``TypeError``, ``ValueError``, ``OverflowError``,
    clickhouse-connect's ``DataError``) is a data error.
    """
    if isinstance(exc, OSError) or type(exc).__name__ == "OperationalError":
        return False
    code = error_code(exc)
    if code is not None:
        return code in DATA_ERROR_CODES
    return type(exc).__name__ == "DataError" or isinstance(exc, TypeError | ValueError |
                                                            OverflowError)


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: a failure of ClickHouse or of the way to it, not of the rows.

    Cancellation and other ``BaseException`` s are never retried (they must stop us).
    """
    return isinstance(exc, Exception) and not is_data_error(exc)


@dataclass(frozen=True, slots=True)
class RefusedRow:
    """A row ClickHouse would not store, at ``index`` in the batch, and why."""

    index: int
    row: tuple[Any, ...]
    reason: str
    error_type: str


@dataclass(slots=True)
class WriteResult:
    """What happened to a batch: rows stored, rows refused (each with its reason)."""

    table: str
    columns: tuple[str, ...]
    stored: int = 0
    refused: list[RefusedRow] = field(default_factory=list)
    inserts: int = 0

    @property
    def ok(self) -> bool:
        return not self.refused

    def dead_letters(
        self,
        positions: Sequence[tuple[str, int, int]] | None = None,
        failed_at: datetime | None = None,
    ) -> list[DeadLetter]:
        """The refused rows as dead letters (stage ``clickhouse.<table>``).

        The payload is the row as a JSON object. Its source is ``positions[index]``
        ``(topic, partition, offset)`` when given, else the row's own
        ``source_topic``/``source_partition``/``source_offset`` columns (``events``),
        else ``clickhouse.<table>`` and an offset hashed from the row.
        """
        when = failed_at or datetime.now(UTC)
        letters = []
        for refused in self.refused:
            record = dict(zip(self.columns, refused.row, strict=True))
            payload = _payload(record)
            topic, partition, offset = (
                positions[refused.index] if positions is not None
                else self._own_source(record, payload)
            )
            letters.append(DeadLetter(
                stage=f"clickhouse.{self.table}", reason=refused.reason,
                error_type=refused.error_type, platform=str(record.get("platform") or "") or None,
                source_topic=topic, partition=partition, offset=offset,
                key=str(record["event_id"]) if record.get("event_id") else None,
                payload_b64=base64.b64encode(payload).decode(), failed_at=when,
            ))
        return letters

    def _own_source(self, record: dict[str, Any], payload: bytes) -> tuple[str, int, int]:
        """The row's own source columns when it has usable ones (``events``); else a
        position naming the row by its content, so two refused rows never collapse
        into one dead letter while a redelivered one does."""
        try:
            return (str(record["source_topic"]), int(record["source_partition"]),
                    int(record["source_offset"]))
        except (KeyError, TypeError, ValueError):
            digest = hashlib.sha256(payload).digest()
            return f"clickhouse.{self.table}", 0, int.from_bytes(digest[:7], "big")


def _merged_token(group: list[_Write]) -> str | None:
    """The token of a merged insert: retried, it names the same rows (None if any
    request had none: such a write is not deduplicated)."""
    tokens = [w.token for w in group]
    if any(t is None for t in tokens):
        return None
    digest = hashlib.sha256("+".join(cast(list[str], tokens)).encode()).hexdigest()[:32]
    return f"{group[0].rows.table}:merged:{digest}"


@dataclass(slots=True)
class _Write:
    """A caller's rows waiting for a (possibly merged) insert, and where its result goes."""

    rows: Rows
    token: str | None
    result: asyncio.Future[WriteResult]


def _payload(record: dict[str, Any]) -> bytes:
    """The row as JSON; values JSON cannot hold (an int beyond 64 bits) as text."""
    try:
        return orjson.dumps(record, default=str)
    except orjson.JSONEncodeError:
        return orjson.dumps({k: v if isinstance(v, str) else repr(v) for k, v in record.items()})


def _describe(exc: BaseException) -> tuple[str, str]:
    """A short reason (first line, capped) and an error type (ClickHouse's name if any)."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    name = _NAME.search(text)
    return first[:_REASON_CHARS], name.group(1) if name else type(exc).__name__


class ClickHouseWriter:
    """Serializes all ClickHouse calls of a worker on one thread."""

    def __init__(self, ch: ClickHouse, metrics: Metrics, max_backoff_s: float = 5.0,
                 min_interval_s: float = 0.0) -> None:
        self.ch = ch
        self.metrics = metrics
        self.max_backoff_s = max_backoff_s
        self.min_interval_s = min_interval_s
        self._last_write: dict[str, float] = {}  # per table, monotonic
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")
        self._queued: dict[str, list[_Write]] = {}  # writes waiting, per table
        self._writing: set[str] = set()  # tables with a write running

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def write(self, rows: Rows, token: str | None = None) -> WriteResult:
        """Store ``rows``: transient failures retried until they pass, refused rows
        isolated and returned (see the module docstring). Never raises for a failed
        insert; the result says which rows were refused and why."""
        if token is not None:
            token = f"{token}-{content_digest(rows)}"
            safe_token(token)  # a bad token is a bug: raise now rather than retry it
        request = _Write(rows, token, asyncio.get_running_loop().create_future())
        queue = self._queued.setdefault(rows.table, [])
        queue.append(request)
        if len(queue) == 1 and rows.table not in self._writing:
            self._writing.add(rows.table)
            try:
                while queue:
                    # Writes arriving during the pause join this one.
                    pause = self._last_write.get(rows.table, -1e9) + self.min_interval_s
                    if (wait := pause - time.monotonic()) > 0:
                        await asyncio.sleep(wait)
                    group = queue[:]
                    queue.clear()
                    self._last_write[rows.table] = time.monotonic()
                    await self._write_merged(group)
            finally:
                self._writing.discard(rows.table)
                for left in queue:  # cancelled while others waited: they must not hang
                    if not left.result.done():
                        left.result.cancel()
                queue.clear()
        return await request.result

    async def _write_merged(self, group: list[_Write]) -> None:
        """One write for the rows of every request in ``group``; each gets its part."""
        first = group[0].rows
        rows = first if len(group) == 1 else Rows(
            first.table, first.columns, [row for w in group for row in w.rows.rows])
        token = group[0].token if len(group) == 1 else _merged_token(group)
        result = WriteResult(rows.table, rows.columns)
        try:
            if rows.rows:
                await self._store(rows, token, 0, len(rows.rows), result)
        except BaseException:
            for w in group:
                w.result.cancel()
            raise
        if result.refused:
            # The reason stays in the dead letters: ClickHouse quotes the refused row in it,
            # and logs never carry message texts.
            log.error("ClickHouse refused %d of %d rows for %s (%s)",
                      len(result.refused), len(rows.rows), rows.table,
                      result.refused[0].error_type)
        start = 0
        for w in group:
            end = start + len(w.rows.rows)
            part = WriteResult(rows.table, rows.columns, inserts=result.inserts)
            part.refused = [RefusedRow(r.index - start, r.row, r.reason, r.error_type)
                            for r in result.refused if start <= r.index < end]
            part.stored = end - start - len(part.refused)
            if not w.result.done():  # its caller may have been cancelled meanwhile
                w.result.set_result(part)
            start = end

    async def _store(
        self, rows: Rows, token: str | None, start: int, end: int, result: WriteResult
    ) -> None:
        """Insert ``rows[start:end]``; on a data error, each half on its own."""
        part = rows if (start, end) == (0, len(rows.rows)) else Rows(
            rows.table, rows.columns, rows.rows[start:end])
        part_token = token if part is rows or token is None else f"{token}/{start}-{end}"
        error = await self._insert(part, part_token)
        result.inserts += 1
        if error is None:
            result.stored += end - start
        elif end - start == 1:
            reason, error_type = _describe(error)
            result.refused.append(RefusedRow(start, rows.rows[start], reason, error_type))
        else:
            middle = (start + end) // 2
            await self._store(rows, token, start, middle, result)
            await self._store(rows, token, middle, end, result)

    async def _insert(self, rows: Rows, token: str | None) -> BaseException | None:
        """One insert, retried while the failure is transient; the data error, if any."""

        def note_failure(state: RetryCallState) -> None:
            self.metrics.insert_retries.labels(rows.table).inc()
            exc = state.outcome.exception() if state.outcome else None
            log.warning("insert into %s failed (attempt %d), retrying: %s code=%s",
                        rows.table, state.attempt_number, type(exc).__name__,
                        error_code(exc) if exc else None)

        try:
            async for attempt in AsyncRetrying(
                wait=wait_random_exponential(multiplier=0.05, max=self.max_backoff_s),
                retry=retry_if_exception(is_transient),
                before_sleep=note_failure,
                reraise=True,
            ):
                with attempt:
                    started = time.perf_counter()
                    await self._call(self.ch.insert, rows, token)
                    self.metrics.insert_seconds.labels(rows.table).observe(
                        time.perf_counter() - started
                    )
        except Exception as exc:  # only data errors leave the retry loop
            return exc
        return None

    async def query(self, sql: str, params: dict[str, Any] | None = None) -> QueryResult:
        result: QueryResult = await self._call(self.ch.query, sql, params)
        return result

    def close(self) -> None:
        self._thread.shutdown(wait=True)
