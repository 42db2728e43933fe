"""Apply the SQL migrations of ``deploy/clickhouse`` once each, in order.

A migration is a file ``NNNN_name.sql`` holding one or more statements separated by
``;`` at line ends. Applied versions are recorded in ``schema_migrations``, so
running ``vigie migrate`` again is a no-op; statements use ``IF NOT EXISTS`` so a
migration interrupted half-way can be re-run.

Retention is not a migration: it is a setting (``VIGIE_CLICKHOUSE__RETENTION_DAYS``,
``VIGIE_CLICKHOUSE__ROLLUP_RETENTION_DAYS``) that :func:`apply_retention` turns into
``ALTER TABLE … MODIFY TTL`` (or ``REMOVE TTL``) whenever a table's TTL differs from
it, so changing the setting and running ``vigie migrate`` again is enough.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from base.settings import ClickHouseSettings
from sinks.clickhouse import ClickHouse, Rows, identifier

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "deploy" / "clickhouse"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations
(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
ENGINE = ReplacingMergeTree ORDER BY version
"""


# Time column each table expires by. Raw tables follow ``retention_days``; the
# roll-up and the alerts (small, and what incident reviews look back on) follow
# ``rollup_retention_days``.
TTL_COLUMNS: dict[str, str] = {
    "events": "created_at",
    "tasks": "created_at",
    "task_status": "at",
    "dead_letters": "failed_at",
    "alerts": "window_start",
    "events_per_minute": "minute",
}
_ROLLUPS = frozenset({"alerts", "events_per_minute"})
_CURRENT_TTL = re.compile(r"\bTTL toDateTime\((\w+)\) \+ toIntervalDay\((\d+)\)")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    path: Path

    def statements(self) -> list[str]:
        text = "\n".join(
            line for line in self.path.read_text("utf-8").splitlines()
            if not line.lstrip().startswith("--")
        )
        return [s.strip() for s in re.split(r";\s*(?:\n|$)", text) if s.strip()]


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), path))
    return found


def retention_of(settings: ClickHouseSettings) -> dict[str, int | None]:
    """Days to keep each table's rows according to ``settings`` (None: forever)."""
    return {
        table: settings.rollup_retention_days if table in _ROLLUPS else settings.retention_days
        for table in TTL_COLUMNS
    }


def ttl_statement(table: str, days: int | None) -> str:
    """The DDL giving ``table`` a TTL of ``days`` on its time column (None removes it).

    Built from a known table name and an integer only: nothing here comes from data.
    """
    name = identifier(table)
    if days is None:
        return f"ALTER TABLE {name} REMOVE TTL"
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"retention must be a positive number of days, not {days!r}")
    column = identifier(TTL_COLUMNS[table])
    return f"ALTER TABLE {name} MODIFY TTL toDateTime({column}) + INTERVAL {days:d} DAY"


def current_ttls(ch: ClickHouse) -> dict[str, int | None]:
    """Each table's TTL in days as ClickHouse reports it (None: no day-based TTL)."""
    found: dict[str, int | None] = {}
    result = ch.query(
        "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase()"
    )
    for name, engine in result.rows:
        match = _CURRENT_TTL.search(str(engine))
        found[str(name)] = int(match.group(2)) if match else None
    return found


def apply_retention(ch: ClickHouse, retention: Mapping[str, int | None]) -> list[str]:
    """Bring every table's TTL to ``retention``; returns the statements it ran.

    Only tables whose TTL differs are altered: ``MODIFY TTL`` rewrites the expired
    rows out of existing parts, which is work worth doing once, not on every start.
    """
    current = current_ttls(ch)
    statements = [
        ttl_statement(table, days)
        for table, days in retention.items()
        if table in current and current[table] != days
    ]
    for statement in statements:
        ch.command(statement)
    return statements


def migrate(
    ch: ClickHouse,
    directory: Path = MIGRATIONS_DIR,
    on_applied: Callable[[Migration], None] | None = None,
    retention: Mapping[str, int | None] | None = None,
) -> list[Migration]:
    """Apply pending migrations, then ``retention`` (see :func:`retention_of`) when given;
    returns the migrations applied now."""
    ch.command(_LEDGER)
    done = {int(row[0]) for row in ch.query("SELECT version FROM schema_migrations").rows}
    applied = []
    for migration in discover(directory):
        if migration.version in done:
            continue
        for statement in migration.statements():
            ch.command(statement)
        ch.insert(Rows("schema_migrations", ("version", "name"),
                       [(migration.version, migration.path.name)]))
        applied.append(migration)
        if on_applied:
            on_applied(migration)
    if retention is not None:
        apply_retention(ch, retention)
    return applied
