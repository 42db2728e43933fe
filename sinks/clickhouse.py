"""ClickHouse access with one interface and two backends.

- :class:`ServerClickHouse`: a ClickHouse server over HTTP(S) via clickhouse-connect
  (production).
- :class:`EmbeddedClickHouse`: the ClickHouse engine in-process via chdb, persisted
  in a directory (``vigie run``, CI, tests).

Both take the same DDL (``deploy/clickhouse``) and the same :class:`Rows` built by
:mod:`sinks.rows`. Calls are blocking; async callers run them in
:class:`sinks.writer.ClickHouseWriter`'s single worker thread.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from base.settings import ClickHouseSettings

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The engine's allocator keeps the pages every insert freed, to reuse them: in a worker
# they stay private memory. Handing them back once a second is cheap (docs/performance.md).
RELEASE_EVERY_S = 1.0


def identifier(name: str) -> str:
    """A validated table/column/database name (names come from code, never from data)."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a ClickHouse identifier: {name!r}")
    return name


@dataclass(frozen=True, slots=True)
class Rows:
    """A columnar-ready batch for one table: column names and row tuples in that order."""

    table: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]


class ClickHouse(Protocol):
    """What the sinks, migrations and ``vigie sql`` need from ClickHouse."""

    def command(self, sql: str) -> None: ...

    def query(self, sql: str, params: dict[str, Any] | None = None) -> QueryResult: ...

    def insert(self, rows: Rows, dedup_token: str | None = None) -> None: ...

    def close(self) -> None: ...


class EmbeddedClickHouse:
    """chdb session on a directory; one process at a time may open it. ``readonly``:
    the session refuses every write and every settings change (``readonly=1``)."""

    def __init__(self, path: Path, database: str, *, readonly: bool = False) -> None:
        from chdb import session

        path.mkdir(parents=True, exist_ok=True)
        self._session = session.Session(str(path))
        self.database = identifier(database)
        if not readonly:
            self._session.query(f"CREATE DATABASE IF NOT EXISTS {self.database}")
        self._session.query(f"USE {self.database}")
        if readonly:
            self._session.query("SET readonly = 1")
        self._released = time.monotonic()
        self._can_release = not readonly
        self.releases = 0

    def command(self, sql: str) -> None:
        self._session.query(sql)

    def query(self, sql: str, params: dict[str, Any] | None = None) -> QueryResult:
        result = self._session.query(sql, "JSONCompact", params=params or {})
        raw = result.bytes()
        if not raw:
            return QueryResult([], [])
        decoded = orjson.loads(raw)
        return QueryResult([m["name"] for m in decoded["meta"]], decoded["data"])

    def insert(self, rows: Rows, dedup_token: str | None = None) -> None:
        if not rows.rows:
            return
        # Rows carry tuples as tuples (serialized as JSON arrays), as clickhouse-connect
        # expects them too.
        settings = ["date_time_input_format='best_effort'",
                    "input_format_json_named_tuples_as_objects=0"]
        if dedup_token is not None:
            settings.append(f"insert_deduplication_token='{safe_token(dedup_token)}'")
        columns = ", ".join(identifier(c) for c in rows.columns)
        body = b"\n".join(orjson.dumps(row) for row in rows.rows).decode("utf-8")
        self._session.query(
            f"INSERT INTO {identifier(rows.table)} ({columns}) "
            f"SETTINGS {', '.join(settings)} FORMAT JSONCompactEachRow\n{body}"
        )
        if self._can_release and time.monotonic() - self._released >= RELEASE_EVERY_S:
            self._released = time.monotonic()
            try:
                self._session.query("SYSTEM JEMALLOC PURGE")
                self.releases += 1
            except Exception:
                # The insert happened and must not look failed (it would be retried).
                # An engine built without jemalloc refuses this: it is not asked again.
                self._can_release = False

    def close(self) -> None:
        self._session.close()


class ServerClickHouse:
    """clickhouse-connect client to a server over HTTP(S)."""

    def __init__(self, settings: ClickHouseSettings, *, readonly: bool = False) -> None:
        import clickhouse_connect

        assert settings.url is not None
        if not readonly:
            admin = clickhouse_connect.get_client(
                dsn=settings.url,
                username=settings.username,
                password=settings.password.get_secret_value(),
            )
            admin.command(f"CREATE DATABASE IF NOT EXISTS {identifier(settings.database)}")
            admin.close()
        self._client = clickhouse_connect.get_client(
            dsn=settings.url,
            username=settings.username,
            password=settings.password.get_secret_value(),
            database=settings.database,
            settings={"readonly": 1} if readonly else None,
        )

    def command(self, sql: str) -> None:
        self._client.command(sql)

    def query(self, sql: str, params: dict[str, Any] | None = None) -> QueryResult:
        result = self._client.query(sql, parameters=params or {})
        return QueryResult(list(result.column_names), [list(r) for r in result.result_rows])

    def insert(self, rows: Rows, dedup_token: str | None = None) -> None:
        if not rows.rows:
            return
        settings = {"insert_deduplication_token": dedup_token} if dedup_token else {}
        self._client.insert(
            rows.table, rows.rows, column_names=list(rows.columns), settings=settings
        )

    def close(self) -> None:
        self._client.close()


def safe_token(value: str) -> str:
    """Tokens are built by the sink from topic names and offsets; refuse anything else."""
    if not re.fullmatch(r"[A-Za-z0-9_.:,/-]+", value):
        raise ValueError(f"unsafe deduplication token: {value!r}")
    return value


def connect(settings: ClickHouseSettings, *, readonly: bool = False) -> ClickHouse:
    """The backend the settings describe: a server when ``url`` is set, else embedded;
    ``readonly``: a connection that can only read (ClickHouse's ``readonly=1``)."""
    if settings.embedded:
        return EmbeddedClickHouse(settings.path, settings.database, readonly=readonly)
    return ServerClickHouse(settings, readonly=readonly)


def scalar(ch: ClickHouse, sql: str, params: dict[str, Any] | None = None) -> Any:
    """The single value of a one-row, one-column query."""
    rows: Sequence[Sequence[Any]] = ch.query(sql, params).rows
    return rows[0][0] if rows else None
