"""Apply the SQL migrations of ``deploy/clickhouse`` once each, in order.

A migration is a file ``NNNN_name.sql`` holding one or more statements separated by
``;`` at line ends. Applied versions are recorded in ``schema_migrations``, so
running ``vigie migrate`` again is a no-op; statements use ``IF NOT EXISTS`` so a
migration interrupted half-way can be re-run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sinks.clickhouse import ClickHouse, Rows

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "deploy" / "clickhouse"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations
(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
ENGINE = ReplacingMergeTree ORDER BY version
"""


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


def migrate(
    ch: ClickHouse,
    directory: Path = MIGRATIONS_DIR,
    on_applied: Callable[[Migration], None] | None = None,
) -> list[Migration]:
    """Apply pending migrations; returns those applied now."""
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
    return applied
