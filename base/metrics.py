"""Prometheus metrics of one worker, in a registry of its own (several apps per test process).

Names, as scraped from ``/metrics`` (see ``deploy/prometheus``):

- ``vigie_events_total{stage}``: events past each stage; ``stage="duplicate"`` counts
  exact-dedup hits, ``stage="deadletter"`` the records sent to the dead-letter topic and
  ``stage="ignored"`` the deliveries that carried no message (a status update, a reaction).
- ``vigie_consumer_lag{topic,partition}``: records between the committed offset and
  the end of each partition this worker owns, refreshed on every scrape.
- ``vigie_partition_end_offset{topic,partition}``,
  ``vigie_partition_committed_offset{topic,partition}``: the two ends of that lag; the
  alert rules watch raw topics' ends for a platform gone silent and the surge feed's
  commits for a stalled detector.
- ``vigie_partitions_assigned``, ``vigie_ready``: what ``/ready`` decided.
- ``vigie_batch_size{agent}``, ``vigie_clickhouse_insert_seconds{table}``,
  ``vigie_clickhouse_insert_retries_total{table}``.
- ``vigie_sla_overdue_left``, ``vigie_sla_checks_postponed_total``: what the SLA check
  left for later; ``vigie_periodic_job_failures_total{job}``,
  ``vigie_batch_failures_total{agent}``, ``vigie_producer_waits_total{topic}``: failures
  and back-pressure the worker survived.
- ``vigie_event_loop_lag_seconds``: how late the event loop woke a sleeper, sampled 20
  times a second (:mod:`streams.looplag`); ``vigie_event_loop_longest_hold_seconds``: the
  longest since the worker started.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

STAGES = ("raw", "normalized", "duplicate", "ignored", "classified", "deadletter", "written",
          "tasks", "alerts", "sla_breaches")


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Insert latency of one table since the worker started."""

    count: int
    mean_s: float
    p95_s: float | None


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.events = Counter(
            "vigie_events", "Events that passed each stage.", ["stage"], registry=self.registry
        )
        self.insert_seconds = Histogram(
            "vigie_clickhouse_insert_seconds", "ClickHouse insert latency.", ["table"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.insert_retries = Counter(
            "vigie_clickhouse_insert_retries", "Failed ClickHouse inserts, retried.", ["table"],
            registry=self.registry,
        )
        self.refused_rows = Counter(
            "vigie_clickhouse_refused_rows", "Rows ClickHouse refused (sent to dead letters).",
            ["table"], registry=self.registry,
        )
        self.sla_checks = Counter(
            "vigie_sla_checks", "Searches for overdue tasks (run by the group's leader).",
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "vigie_batch_size", "Records per processed batch.", ["agent"],
            registry=self.registry, buckets=(1, 10, 50, 100, 500, 1000, 2000, 5000, 10000),
        )
        self.reread_seeks = Counter(
            "vigie_reread_seeks", "Partitions sought back because the consumer skipped records.",
            ["agent"], registry=self.registry,
        )
        self.lag = Gauge(
            "vigie_consumer_lag", "Records not yet committed, per owned source partition.",
            ["topic", "partition"], registry=self.registry,
        )
        self.end_offset = Gauge(
            "vigie_partition_end_offset", "End offset of each owned source partition.",
            ["topic", "partition"], registry=self.registry,
        )
        self.committed_offset = Gauge(
            "vigie_partition_committed_offset",
            "Committed offset of each owned source partition.",
            ["topic", "partition"], registry=self.registry,
        )
        self.partitions_assigned = Gauge(
            "vigie_partitions_assigned", "Source partitions this worker owns.",
            registry=self.registry,
        )
        self.ready = Gauge(
            "vigie_ready", "1 when connected, assigned and caught up (see /ready).",
            registry=self.registry,
        )
        self.sla_overdue_left = Gauge(
            "vigie_sla_overdue_left",
            "Overdue tasks the last SLA check found beyond its batch, left for the next check.",
            registry=self.registry,
        )
        self.sla_checks_postponed = Counter(
            "vigie_sla_checks_postponed",
            "SLA checks skipped because task statuses were still unread (lag).",
            registry=self.registry,
        )
        self.job_failures = Counter(
            "vigie_periodic_job_failures", "Runs of a periodic job that failed (tried again "
            "at its next run).", ["job"], registry=self.registry,
        )
        self.batch_failures = Counter(
            "vigie_batch_failures", "Batches that failed and were read again from the last "
            "commit (the worker keeps running).", ["agent"], registry=self.registry,
        )
        self.producer_waits = Counter(
            "vigie_producer_waits", "Bounded waits for room in the producer's queue "
            "(back-pressure), each followed by another try.", ["topic"], registry=self.registry,
        )
        self.loop_lag = Histogram(
            "vigie_event_loop_lag_seconds", "How late the event loop woke a sleeper.",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.loop_longest_hold = Gauge(
            "vigie_event_loop_longest_hold_seconds",
            "Longest time the event loop was held (woke a sleeper late) since start.",
            registry=self.registry,
        )
        for stage in STAGES:
            self.events.labels(stage)

    def count(self, stage: str, n: int = 1) -> None:
        if n:
            self.events.labels(stage).inc(n)

    def stage_totals(self) -> dict[str, float]:
        """Current total per stage, for the live summary."""
        return {s: self.events.labels(s)._value.get() for s in STAGES}

    def set_lag(self, lags: dict[tuple[str, int], int],
                ends: dict[tuple[str, int], tuple[int, int]] | None = None) -> None:
        """Replace the lag series, and the (end, committed) offsets when given:
        partitions this worker lost must not linger."""
        for gauge in (self.lag, self.end_offset, self.committed_offset):
            gauge.clear()
        for (topic, partition), value in lags.items():
            self.lag.labels(topic, str(partition)).set(value)
        for (topic, partition), (end, committed) in (ends or {}).items():
            self.end_offset.labels(topic, str(partition)).set(end)
            self.committed_offset.labels(topic, str(partition)).set(committed)
        self.partitions_assigned.set(len(lags))

    def insert_latency(self) -> dict[str, LatencySummary]:
        """Count, mean and bucket-interpolated p95 of the insert histogram, per table."""
        buckets: dict[str, list[tuple[float, float]]] = {}
        sums: dict[str, float] = {}
        counts: dict[str, float] = {}
        for metric in self.insert_seconds.collect():
            for sample in metric.samples:
                table = sample.labels.get("table", "")
                if sample.name.endswith("_bucket"):
                    buckets.setdefault(table, []).append(
                        (float(sample.labels["le"]), sample.value))
                elif sample.name.endswith("_sum"):
                    sums[table] = sample.value
                elif sample.name.endswith("_count"):
                    counts[table] = sample.value
        return {
            table: LatencySummary(
                int(n), sums.get(table, 0.0) / n, _quantile(sorted(buckets.get(table, [])), 0.95)
            )
            for table, n in counts.items() if n
        }


def _quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """Linear interpolation inside the cumulative bucket holding quantile ``q``."""
    if not buckets or not buckets[-1][1]:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if bound == float("inf"):
                return lower_bound
            share = (rank - lower_count) / (cumulative - lower_count) if cumulative > lower_count \
                else 1.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, cumulative
    return lower_bound
