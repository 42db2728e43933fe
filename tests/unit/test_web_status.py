"""The pure parts of the worker endpoints, `vigie top` and the JSON logs."""

from __future__ import annotations

import io
import logging

import orjson
from prometheus_client import Gauge
from rich.console import Console

from base.logs import SafeJsonFormatter, scrub
from base.metrics import Metrics
from streams.lag import PartitionLag
from streams.web import RateMeter, judge_readiness
from vigie.commands.ops import merge, render


def lag(n: int, partition: int = 0) -> PartitionLag:
    return PartitionLag("raw.x", partition, 100 + n, 100, n)


def test_rates_are_counter_deltas_over_the_sampled_window() -> None:
    meter = RateMeter(window_s=10.0)
    for second in range(0, 31):
        meter.sample(float(second), {"raw": 100.0 * second, "tasks": 0.0})
    rates = meter.rates()
    assert rates == {"raw": 100.0, "tasks": 0.0}
    assert meter.samples[-1][0] - meter.samples[0][0] <= 11


def test_a_single_sample_gives_no_rate_rather_than_a_guess() -> None:
    meter = RateMeter()
    meter.sample(0.0, {"raw": 5.0})
    assert meter.rates() == {}


def test_a_caught_up_worker_owning_partitions_is_ready() -> None:
    verdict = judge_readiness(running=True, rebalancing=False, lags=[lag(3), lag(4, 1)],
                              max_lag=10)
    assert verdict.ready
    assert verdict.reasons == ()


def test_lag_above_the_threshold_rebalancing_or_no_partition_is_not_ready() -> None:
    assert judge_readiness(running=True, rebalancing=False, lags=[lag(11)],
                           max_lag=10).reasons == ("lag 11 above 10",)
    assert "rebalancing" in judge_readiness(running=True, rebalancing=True, lags=[],
                                            max_lag=10).reasons
    assert judge_readiness(running=True, rebalancing=False, lags=[], max_lag=10).reasons == (
        "no source partition assigned",)
    assert not judge_readiness(running=False, rebalancing=False, lags=[], max_lag=10).ready


def test_insert_latency_summary_interpolates_the_95th_percentile_inside_its_bucket() -> None:
    metrics = Metrics()
    for _ in range(90):
        metrics.insert_seconds.labels("events").observe(0.003)
    for _ in range(10):
        metrics.insert_seconds.labels("events").observe(0.2)
    summary = metrics.insert_latency()["events"]
    assert summary.count == 100
    assert abs(summary.mean_s - (90 * 0.003 + 10 * 0.2) / 100) < 1e-9
    assert summary.p95_s is not None
    assert 0.1 < summary.p95_s <= 0.25


def test_lag_series_of_partitions_a_worker_lost_disappear() -> None:
    metrics = Metrics()
    metrics.set_lag({("raw.x", 0): 5, ("raw.x", 1): 7}, {("raw.x", 0): (15, 10),
                                                          ("raw.x", 1): (17, 10)})
    metrics.set_lag({("raw.x", 1): 2}, {("raw.x", 1): (19, 17)})

    def exposed(gauge: Gauge) -> set[tuple[str, float]]:
        return {(s.labels["partition"], s.value) for m in gauge.collect() for s in m.samples}

    assert exposed(metrics.lag) == {("1", 2.0)}
    assert exposed(metrics.end_offset) == {("1", 19.0)}
    assert exposed(metrics.committed_offset) == {("1", 17.0)}
    assert metrics.partitions_assigned._value.get() == 1


def snapshot(worker: str, raw: float, lags: list[PartitionLag]) -> dict[str, object]:
    return {
        "schema": "vigie.status.v1",
        "worker": {"id": worker, "group": "vigie", "now": "2024-05-01T10:00:00+00:00",
                   "ready": True, "reasons": []},
        "stages": {"raw": {"total": raw, "rate": raw / 10}},
        "lag": [{"topic": p.topic, "partition": p.partition, "end": p.end,
                 "committed": p.committed, "lag": p.lag} for p in lags],
        "lag_total": sum(p.lag for p in lags),
        "dead_letters": {"published": 2.0, "stored": {"normalize": 3}},
        "alerts": [{"kind": "spike", "brand": "acme", "platforms": ["x"], "severity": "high",
                    "count": 40, "score": 7.5, "top_terms": ["panne"], "trajectory": [3, 12, 40]}],
        "tasks": {"queues": [{"queue": "support", "priority": "high", "open": 4,
                              "breached": 1}], "open": 4, "sla_breaches": 1,
                  "status_feedback": True},
        "insert_latency": {"events": {"count": 3, "mean_s": 0.01, "p95_s": 0.02}},
        "clickhouse_error": None,
    }


def test_snapshots_of_several_workers_add_up_and_keep_every_partition() -> None:
    merged = merge([snapshot("a", 100, [lag(1)]), snapshot("b", 50, [lag(2, 1)])])
    assert merged["stages"]["raw"] == {"total": 150, "rate": 15}
    assert merged["lag_total"] == 3
    assert len(merged["lag"]) == 2
    assert merged["dead_letters"]["published"] == 4
    assert [w["id"] for w in merged["workers"]] == ["a", "b"]


def test_the_dashboard_shows_stages_lag_alerts_queues_and_latency() -> None:
    console = Console(file=io.StringIO(), width=140)
    console.print(render(merge([snapshot("a", 100, [lag(1)])]), "http://w:6066"))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    for expected in ("raw", "raw.x", "acme", "3 → 12 → 40", "support", "past SLA", "events",
                     "normalize 3"):
        assert expected in text


def test_json_log_lines_keep_ids_and_drop_other_context_and_personal_data() -> None:
    record = logging.LogRecord("streams.agents", logging.WARNING, __file__, 1,
                               "refused %s from jane@example.org, call +33 6 12 34 56 78",
                               ("payload",), None)
    record.event_id = "x:123"
    record.text = "the message body"
    record.password = "hunter2"
    line = orjson.loads(SafeJsonFormatter().format(record))
    assert line["event_id"] == "x:123"
    assert line["level"] == "WARNING"
    assert "text" not in line
    assert "password" not in line
    assert "jane@example.org" not in line["message"]
    assert "12 34 56" not in line["message"]


def test_scrub_masks_credentials_written_as_pairs_or_bearer_tokens() -> None:
    assert scrub("password=hunter2 token: abc Bearer eyJ") == (
        "password=<redacted> token: <redacted> Bearer <redacted>")
