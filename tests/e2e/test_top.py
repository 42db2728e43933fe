"""`vigie top --once` as an operator runs it, beside a busy `vigie run` in the same directory."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

VIGIE = str(Path(sys.executable).parent / "vigie")


def top_once(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VIGIE, "top", "--once", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=30, env={**os.environ, "COLUMNS": "120"})


def raw_total(output: str) -> int:
    match = re.search(r"│ raw\s+│\s+([\d,]+)\s+│", output)
    return int(match.group(1).replace(",", "")) if match else 0


def test_top_once_prints_a_live_snapshot_of_the_pipeline_started_here(tmp_path: Path) -> None:
    run = subprocess.Popen([VIGIE, "run", "--rate", "200"], cwd=tmp_path,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env={k: v for k, v in os.environ.items()
                                if not k.startswith("VIGIE_")})
    try:
        deadline, output = time.monotonic() + 90, ""
        while time.monotonic() < deadline:
            assert run.poll() is None, "vigie run exited"
            if (tmp_path / ".vigie" / "run.json").exists():
                result = top_once(tmp_path)
                output = result.stdout
                if result.returncode == 0 and raw_total(output) > 0:
                    break
            time.sleep(0.5)
        assert raw_total(output) > 0, output
        for section in ("stages", "consumer lag", "task queues", "ClickHouse inserts",
                        "dead letters"):
            assert section in output
        assert "ready" in output
    finally:
        run.send_signal(signal.SIGTERM)
        try:
            run.wait(30)
        except subprocess.TimeoutExpired:
            run.kill()
            run.wait()


def test_top_without_a_running_pipeline_says_how_to_reach_one(tmp_path: Path) -> None:
    result = top_once(tmp_path)
    assert result.returncode != 0
    assert "vigie run" in result.stderr
    assert "--url" in result.stderr


def test_top_reports_an_unreachable_worker_and_fails(tmp_path: Path) -> None:
    result = top_once(tmp_path, "--url", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert "cannot reach http://127.0.0.1:9" in result.stdout
