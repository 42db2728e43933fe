"""ClickHouse faults that cannot be caused for real on the embedded engine."""

from __future__ import annotations

import threading
import time
from typing import Any

from sinks.clickhouse import ClickHouse, QueryResult, Rows


class FaultyClickHouse:
    """A backend whose inserts fail (``down``), crawl (``delay_s``) or have their events
    refused with a ClickHouse data error (``refusal``, its message) on demand."""

    def __init__(self, inner: ClickHouse) -> None:
        self.inner = inner
        self.down = threading.Event()
        self.delay_s = 0.0
        self.refusal: str | None = None
        self.refused = 0

    def insert(self, rows: Rows, dedup_token: str | None = None) -> None:
        if self.down.is_set():
            self.refused += 1
            raise ConnectionRefusedError("simulated outage: connection refused")
        if self.refusal and rows.table == "events":
            self.refused += 1
            raise RuntimeError(self.refusal)
        if self.delay_s:
            time.sleep(self.delay_s)  # a slow server, felt by the writer's thread
        self.inner.insert(rows, dedup_token)

    def command(self, sql: str) -> None:
        self.inner.command(sql)

    def query(self, sql: str, params: dict[str, Any] | None = None) -> QueryResult:
        return self.inner.query(sql, params)

    def close(self) -> None:
        self.inner.close()
