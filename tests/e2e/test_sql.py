"""`vigie sql` as an analyst runs it: stored text printed as it is, and nothing written
unless asked for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sinks.clickhouse import EmbeddedClickHouse
from sinks.migrate import migrate

VIGIE = str(Path(sys.executable).parent / "vigie")
# Comments as people (or attackers) write them: Rich markup, a placeholder left by the
# masking, a hyperlink tag, an escape sequence that recolours the terminal and a
# right-to-left override.
HOSTILE = ["merci [/x] vraiment", "rappelez moi au [phone]",
           "[link=https://evil.example]cliquez[/link]", "\x1b[31mrouge\x1b[0m",
           "abc\u202edcba"]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "clickhouse"
    ch = EmbeddedClickHouse(path, "vigie")
    try:
        migrate(ch)
        for i, text in enumerate(HOSTILE):
            ch.command("INSERT INTO dead_letters (stage, reason, source_topic, partition, "
                       f"offset, payload_b64) VALUES ('normalize', {quoted(text)}, 'raw.x', 0, "
                       f"{i}, '')")
    finally:
        ch.close()
    return path


def quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def vigie_sql(database: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env |= {"VIGIE_CLICKHOUSE__PATH": str(database), "COLUMNS": "200"}
    return subprocess.run([VIGIE, "sql", *args], env=env, capture_output=True, timeout=120,
                          check=False)


def test_stored_text_is_printed_literally_with_control_characters_escaped(
    database: Path,
) -> None:
    run = vigie_sql(database, "SELECT reason FROM dead_letters ORDER BY offset")
    assert run.returncode == 0, run.stderr.decode()
    out = run.stdout.decode()
    for shown in ("merci [/x] vraiment", "rappelez moi au [phone]",
                  "[link=https://evil.example]cliquez[/link]", "\\x1b[31mrouge\\x1b[0m",
                  "abc\\u202edcba"):
        assert shown in out, shown
    assert b"\x1b" not in run.stdout
    assert "\u202e" not in out


def test_sql_is_read_only_unless_write_is_given(database: Path) -> None:
    for statement in ("DROP TABLE dead_letters",
                      "INSERT INTO dead_letters (stage, offset) VALUES ('x', 99)",
                      "SET readonly = 0"):
        run = vigie_sql(database, statement)
        assert run.returncode == 1, statement
        assert b"readonly" in run.stderr.lower() or b"read-only" in run.stderr.lower()
    assert b"5" in vigie_sql(database, "SELECT count() FROM dead_letters").stdout
    run = vigie_sql(database, "--write",
                    "INSERT INTO dead_letters (stage, offset) VALUES ('x', 99)")
    assert run.returncode == 0, run.stderr.decode()
    assert b"6" in vigie_sql(database, "SELECT count() FROM dead_letters").stdout
