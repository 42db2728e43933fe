"""`vigie bench --soak N` as a user runs it, at a reduced size: one worker drains the
backlog to the end, every valid event stored, one task id per event, no crash; then it
starts again on its restored tables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

VIGIE = str(Path(sys.executable).parent / "vigie")
RECORDS = 20_000


def test_a_reduced_soak_drains_the_backlog_and_stores_every_valid_event_once(
    tmp_path: Path,
) -> None:
    out = tmp_path / "soak.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    # Every simulated task is overdue: checks every second escalate while the backlog
    # drains, as a worker restarted after an outage would.
    env["VIGIE_SLA__BREACH_CHECK_S"] = "1"
    run = subprocess.run([VIGIE, "bench", "--soak", str(RECORDS), "--json", str(out)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    doc = orjson.loads(out.read_bytes())
    assert doc["valid_events"] > 0.95 * RECORDS
    assert doc["stored_events"] == doc["valid_events"]
    assert doc["missing_events"] == 0
    assert doc["event_tasks"] > 0
    assert doc["events_with_two_task_ids"] == 0
    assert doc["sla_escalations"] > 0, "escalations ran during the drain"
    assert (doc["crashed"], doc["exit_code"], doc["note"]) == (False, 0, "")
    assert doc["restart_exit_code"] == 0, "restarted on its restored tables, stopped cleanly"
    assert doc["restart_s"] > 0
    timeline = doc["rss_over_time"]
    assert len(timeline) >= 10
    assert timeline[-1]["records"] == RECORDS
    assert all(row["private_rss_mb"] > 0 for row in timeline)
    assert doc["longest_loop_hold_s"] > 0, "the hold was measured"
    assert doc["eps"] > 0
