"""The bench's arithmetic (measurement window, percentiles, the JSON keys the issue names)
and what `vigie bench` refuses."""

from __future__ import annotations

import math
from pathlib import Path

from typer.testing import CliRunner

from vigie.bench.report import (
    MACHINERY,
    Latency,
    MemoryTimeline,
    Progress,
    Sample,
    ScenarioResult,
    percentile,
    render,
    summary,
)
from vigie.cli import app


def test_window_opens_when_every_process_has_done_a_batch_and_closes_at_the_total() -> None:
    progress = Progress(processes=2, total=1000)
    progress.update(0, Sample(t=10.0, n=100, cpu=1.0, peak_rss_mb=50))
    assert progress.start is None  # the second worker has not reported yet
    progress.update(1, Sample(t=11.0, n=0, cpu=0.5, peak_rss_mb=60))
    assert progress.start is None  # ... nor finished a batch
    progress.update(1, Sample(t=12.0, n=100, cpu=1.5, peak_rss_mb=70))
    assert progress.start == (12.0, 200, 2.5)
    progress.update(0, Sample(t=14.0, n=600, cpu=3.5, peak_rss_mb=80))
    assert not progress.done
    progress.update(1, Sample(t=16.0, n=400, cpu=5.5, peak_rss_mb=90))
    assert progress.done
    assert progress.events_per_second() == (1000 - 200) / (16.0 - 12.0)
    assert progress.cpu_percent() == 100 * (9.0 - 2.5) / 4.0
    assert progress.peak_rss_mb() == 90


def test_no_window_means_no_rate() -> None:
    progress = Progress(processes=1, total=10)
    progress.update(0, Sample(t=1.0, n=0, cpu=0.0, peak_rss_mb=1))
    assert progress.events_per_second() == 0.0
    assert progress.cpu_percent() == 0.0


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7
    assert math.isnan(percentile([], 50))


def test_summary_carries_the_keys_of_the_issue_and_the_ratios() -> None:
    def result(name: str, eps: float, rss: float, hold: float = 0.0) -> ScenarioResult:
        return ScenarioResult(name, 1, 1000, 1.0, eps, 90.0, 10.0, rss, rss / 2,
                              loop_hold_s=hold, loop_hold_all_s=2 * hold)

    results = {"limit": result("limit", 20_000, 100), "naive_faust": result("naive", 4000, 120),
               "vigie": result("vigie", 8000, 300, 0.2),
               "vigie_2workers": result("v2", 14_000, 320, 0.3)}
    one = Latency(4000, 3990, task_ms=[10.0, 20.0], clickhouse_ms=[100.0, 300.0])
    two = Latency(4000, 3995, task_ms=[5.0, 8.0], clickhouse_ms=[50.0, 90.0])
    doc = summary(results, {1: one, 2: two}, result("rss", 1, 350), {"cpu": "test"})
    for key in ("limit_eps", "naive_faust_eps", "vigie_eps", "vigie_2workers_eps",
                "ratio_vigie_limit", "p99_task_ms", "p99_clickhouse_ms", "peak_rss_mb",
                "machine"):
        assert key in doc
    assert doc["ratio_vigie_limit"] == 0.4
    assert doc["ratio_vigie_naive"] == 2.0
    assert doc["ratio_2workers_1worker"] == 1.75
    assert doc["p99_task_ms"] == 20.0
    assert doc["p99_clickhouse_ms"] == 300.0
    assert (doc["p99_task_ms_2workers"], doc["p99_clickhouse_ms_2workers"]) == (8.0, 90.0)
    assert doc["latency_2workers"]["achieved_rate"] == 3995
    assert (doc["latency_rate_eps"], doc["latency_load"]) == (4000, 0.5)
    assert doc["longest_loop_hold_s"] == 0.3  # the vigie workers', while a backlog drained
    assert doc["scenarios"]["vigie"]["loop_hold_all_s"] == 0.4
    assert doc["peak_rss_mb"] == 320  # the vigie workers only
    assert doc["rss_1m_dedup_keys_mb"] == 350
    assert doc["machinery_eps"] is None
    assert doc["ratio_machinery_naive"] is None


def test_the_machinery_alone_is_a_ratio_to_naive_faust_not_a_worker() -> None:
    def result(name: str, eps: float, rss: float, hold: float) -> ScenarioResult:
        return ScenarioResult(name, 1, 1000, 1.0, eps, 90.0, 10.0, rss, rss / 2,
                              loop_hold_s=hold, loop_hold_all_s=hold)

    results = {"naive_faust": result("naive", 4000, 120, 0.0),
               "vigie": result("vigie", 3000, 300, 0.2),
               MACHINERY: result(MACHINERY, 6000, 2000, 0.5)}
    doc = summary(results, {}, None, {"cpu": "test", "cores": 2, "load_avg_at_start": [0.1],
                                      "versions": {}})
    assert (doc["machinery_eps"], doc["ratio_machinery_naive"]) == (6000, 1.5)
    assert doc["peak_rss_mb"] == 300  # its outputs held in memory are not a worker's
    assert doc["longest_loop_hold_s"] == 0.2
    shown = [row for table in render(doc) for row in table.columns[0].cells]
    assert "machinery alone (stages precomputed) / naive Faust" in shown


def test_the_memory_timeline_takes_a_point_per_step_of_the_backlog_and_one_at_the_end() -> None:
    timeline = MemoryTimeline(total=1000, points=4)
    for n in (0, 100, 100, 200, 240, 260, 600, 990, 1000, 1000):
        timeline.update(Sample(t=10.0 + n / 100, n=n, cpu=0.0, peak_rss_mb=500, anon_mb=n / 10),
                        since=10.0)
    assert [row["records"] for row in timeline.rows] == [100, 260, 600, 990, 1000]
    assert timeline.rows[-1] == {"seconds": 10.0, "records": 1000, "private_rss_mb": 100.0,
                                 "peak_rss_mb": 500}


def test_the_longest_loop_hold_is_kept_overall_and_inside_the_window() -> None:
    progress = Progress(processes=1, total=100)
    progress.update(0, Sample(t=1.0, n=0, cpu=0.0, peak_rss_mb=1, hold_s=0.9))  # start-up
    progress.update(0, Sample(t=2.0, n=10, cpu=0.0, peak_rss_mb=1, hold_s=0.2))  # opens
    progress.update(0, Sample(t=3.0, n=50, cpu=0.0, peak_rss_mb=1, hold_s=0.3))
    progress.update(0, Sample(t=4.0, n=100, cpu=0.0, peak_rss_mb=1, hold_s=0.1))
    assert (progress.hold_s, progress.window_hold_s) == (0.9, 0.3)


def test_the_machinery_scenario_refuses_a_backlog_it_could_not_hold(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "--events", "200001", "--machinery",
                                      "--json", str(tmp_path / "out.json")])
    assert result.exit_code == 2
    said = " ".join(result.output.replace("│", " ").split())  # the error box, unwrapped
    assert "at most 200,000 events" in said
    assert not (tmp_path / "out.json").exists()
