"""Prometheus metrics of one worker, in a registry of its own (several apps per test process)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

STAGES = ("raw", "normalized", "duplicate", "classified", "deadletter", "written", "tasks",
          "alerts")


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
        self.batch_size = Histogram(
            "vigie_batch_size", "Records per processed batch.", ["agent"],
            registry=self.registry, buckets=(1, 10, 50, 100, 500, 1000, 2000, 5000, 10000),
        )
        for stage in STAGES:
            self.events.labels(stage)

    def count(self, stage: str, n: int = 1) -> None:
        if n:
            self.events.labels(stage).inc(n)

    def stage_totals(self) -> dict[str, float]:
        """Current total per stage, for the live summary."""
        return {s: self.events.labels(s)._value.get() for s in STAGES}
