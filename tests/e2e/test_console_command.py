"""`vigie console` as an operator runs it: on a pipeline's ClickHouse, or pointing at the
console of the `vigie run` in the same directory."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import orjson

from sinks.clickhouse import EmbeddedClickHouse
from sinks.migrate import migrate

VIGIE = str(Path(sys.executable).parent / "vigie")
ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")},
       "VIGIE_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:9", "VIGIE_CONSOLE__PORT": "0",
       "COLUMNS": "160"}


def test_console_serves_the_page_from_a_stored_pipeline_read_only(tmp_path: Path) -> None:
    ch = EmbeddedClickHouse(tmp_path / ".vigie" / "clickhouse", "vigie")
    migrate(ch)
    ch.close()
    out = tmp_path / "console.out"
    with out.open("wb") as sink:
        console = subprocess.Popen([VIGIE, "console"], cwd=tmp_path, env=ENV, stdout=sink,
                                   stderr=subprocess.STDOUT)
    try:
        deadline, found = time.monotonic() + 30, None
        while found is None and time.monotonic() < deadline:
            assert console.poll() is None, out.read_text()
            found = re.search(r"console: (http://127\.0\.0\.1:\d+)", out.read_text())
            time.sleep(0.2)
        assert found, out.read_text()
        url = found.group(1)
        with urllib.request.urlopen(f"{url}/", timeout=10) as page:
            assert "default-src 'self'" in page.headers["Content-Security-Policy"]
            assert b"vigie" in page.read()
        with urllib.request.urlopen(f"{url}/fragments/alerts", timeout=10) as alerts:
            assert b"No alert in the history window" in alerts.read()
        with urllib.request.urlopen(f"{url}/fragments/health", timeout=10) as health:
            assert b"Cannot reach a worker" in health.read()  # none runs here
    finally:
        # SIGTERM, as an orchestrator stops it (Ctrl-C's SIGINT is ignored by children
        # of a script's background job, so a test cannot count on it).
        console.send_signal(signal.SIGTERM)
        try:
            code = console.wait(30)
        except subprocess.TimeoutExpired:
            console.kill()
            code = None
        assert code == 0, f"exit {code} after SIGTERM:\n{out.read_text()}"


def test_console_beside_a_running_vigie_run_names_that_runs_console(tmp_path: Path) -> None:
    (tmp_path / ".vigie").mkdir()
    (tmp_path / ".vigie" / "run.json").write_bytes(orjson.dumps({
        "pid": os.getpid(), "web": "http://127.0.0.1:6066",
        "console": "http://127.0.0.1:6070"}))
    result = subprocess.run([VIGIE, "console"], cwd=tmp_path, env=ENV, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "serves the console at http://127.0.0.1:6070" in result.stdout
