"""The bench's arithmetic: measurement window, percentiles, the JSON keys the issue names."""

from __future__ import annotations

import math

from vigie.bench.report import Latency, Progress, Sample, ScenarioResult, percentile, summary


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
    def result(name: str, eps: float, rss: float) -> ScenarioResult:
        return ScenarioResult(name, 1, 1000, 1.0, eps, 90.0, 10.0, rss, rss / 2)

    results = {"limit": result("limit", 20_000, 100), "naive_faust": result("naive", 4000, 120),
               "vigie": result("vigie", 8000, 300), "vigie_2workers": result("v2", 14_000, 320)}
    one = Latency(2000, 1990, task_ms=[10.0, 20.0], clickhouse_ms=[100.0, 300.0])
    two = Latency(2000, 1995, task_ms=[5.0, 8.0], clickhouse_ms=[50.0, 90.0])
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
    assert doc["latency_2workers"]["achieved_rate"] == 1995
    assert doc["peak_rss_mb"] == 320  # the vigie workers only
    assert doc["rss_1m_dedup_keys_mb"] == 350
