"""Async ClickHouse writer: one worker thread, retries with backoff, never raises.

Guarantee: :meth:`ClickHouseWriter.write` returns only once the rows are stored.
While ClickHouse is down it keeps retrying (exponential backoff with jitter, capped),
so the calling agent holds its batch unacknowledged and consumption pauses; the
``insert_deduplication_token`` makes a retried insert that had in fact succeeded a
no-op. Calls are serialized on one thread because a chdb session is not
thread-safe and a server gains nothing from concurrent writers of one worker.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_random_exponential

from sinks.clickhouse import ClickHouse, QueryResult, Rows
from streams.metrics import Metrics

log = logging.getLogger(__name__)
T = TypeVar("T")


def dedup_token(table: str, positions: Iterable[tuple[str, int, int, int]]) -> str:
    """A token naming a batch by its source ranges ``(topic, partition, first, last)``."""
    spans = ",".join(f"{t}/{p}/{a}-{b}" for t, p, a, b in sorted(positions))
    return f"{table}:{hashlib.sha256(spans.encode()).hexdigest()[:32]}"


class ClickHouseWriter:
    """Serializes all ClickHouse calls of a worker on one thread."""

    def __init__(self, ch: ClickHouse, metrics: Metrics, max_backoff_s: float = 30.0) -> None:
        self.ch = ch
        self.metrics = metrics
        self.max_backoff_s = max_backoff_s
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def write(self, rows: Rows, token: str | None = None) -> None:
        """Store ``rows``; retries until ClickHouse accepts them."""
        if not rows.rows:
            return

        def note_failure(state: RetryCallState) -> None:
            self.metrics.insert_retries.labels(rows.table).inc()
            exc = state.outcome.exception() if state.outcome else None
            log.warning("insert into %s failed (attempt %d), retrying: %s",
                        rows.table, state.attempt_number, exc)

        async for attempt in AsyncRetrying(
            wait=wait_random_exponential(multiplier=0.05, max=self.max_backoff_s),
            retry=retry_if_exception_type(Exception),
            before_sleep=note_failure,
            reraise=True,
        ):
            with attempt:
                started = time.perf_counter()
                await self._call(self.ch.insert, rows, token)
                self.metrics.insert_seconds.labels(rows.table).observe(
                    time.perf_counter() - started
                )

    async def query(self, sql: str, params: dict[str, Any] | None = None) -> QueryResult:
        result: QueryResult = await self._call(self.ch.query, sql, params)
        return result

    def close(self) -> None:
        self._thread.shutdown(wait=True)
