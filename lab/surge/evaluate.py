"""Scores detector output against scenario ground truth (``vigie eval-surge`` and CI).

An ``open`` alert matches an incident of the same kind when it names the same brand
and polarity (spikes) or shares a platform (silences), and fires between the
incident's start and ``grace`` after its end. Other opens are false positives;
extra matching opens are duplicates. Delay = first matching open − incident start,
in event time.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from core.surge.pipeline import SurgePipeline
from lab.scenarios import SCENARIOS, Incident, scenario
from schemas.alerts import Alert, AlertStatus

GRACE = timedelta(minutes=30)
MEDIAN_DELAY = timedelta(minutes=5)


@dataclass
class ScenarioResult:
    name: str
    incidents: list[Incident]
    alerts: list[Alert]
    delays: list[timedelta | None] = field(default_factory=list)
    false_positives: int = 0
    duplicate_opens: int = 0
    events: int = 0
    seconds: float = 0.0

    @property
    def detected(self) -> int:
        return sum(d is not None for d in self.delays)

    @property
    def recall(self) -> float:
        return self.detected / len(self.incidents) if self.incidents else 1.0


def _matches(alert: Alert, incident: Incident) -> bool:
    if alert.kind is not incident.kind:
        return False
    if not incident.start <= alert.detected_at <= incident.end + GRACE:
        return False
    if incident.brand is not None:
        return alert.brand == incident.brand and alert.polarity == incident.polarity
    return bool(set(alert.platforms) & set(incident.platforms))


def score(name: str, incidents: list[Incident], alerts: list[Alert]) -> ScenarioResult:
    result = ScenarioResult(name, incidents, alerts)
    opens = [a for a in alerts if a.status is AlertStatus.OPEN]
    matched: set[str] = set()
    for incident in incidents:
        hits = [a for a in opens if _matches(a, incident)]
        matched.update(a.alert_id for a in hits)
        result.duplicate_opens += max(0, len(hits) - 1)
        first = min((a.detected_at for a in hits), default=None)
        result.delays.append(None if first is None else first - incident.start)
    result.false_positives = sum(a.alert_id not in matched for a in opens)
    return result


def run(name: str, seed: int = 0) -> ScenarioResult:
    """Replays a scenario through the same chain as ``vigie detect`` and scores it."""
    started = time.perf_counter()
    scn = scenario(name, seed)
    pipeline = SurgePipeline()
    alerts: list[Alert] = []
    for event in scn.events:
        alerts.extend(pipeline.feed_event(event))
    result = score(name, scn.incidents, alerts)
    result.events = pipeline.events
    result.seconds = time.perf_counter() - started
    return result


def run_all(seed: int = 0, workers: int = 1) -> list[ScenarioResult]:
    """Every scenario, in :data:`SCENARIOS` order (``workers`` > 1: in parallel processes)."""
    names = list(SCENARIOS)
    if workers <= 1:
        return [run(name, seed) for name in names]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(run, names, [seed] * len(names)))


def median_delay(results: list[ScenarioResult]) -> timedelta | None:
    seconds = [d.total_seconds() for r in results for d in r.delays if d is not None]
    return timedelta(seconds=statistics.median(seconds)) if seconds else None


def missed_targets(results: list[ScenarioResult]) -> list[str]:
    """Every target of the surge issue that ``results`` miss (empty when all are met)."""
    missed = []
    for result in results:
        for incident, delay in zip(result.incidents, result.delays, strict=True):
            if delay is None:
                missed.append(f"{result.name}: {incident.label} not detected")
                continue
            if incident.deadline is not None and delay > incident.deadline:
                missed.append(f"{result.name}: {incident.label} detected after {delay}")
        if result.false_positives:
            missed.append(f"{result.name}: {result.false_positives} false positive(s)")
        if result.duplicate_opens:
            missed.append(f"{result.name}: {result.duplicate_opens} duplicate open(s)")
    median = median_delay(results)
    if median is not None and median > MEDIAN_DELAY:
        missed.append(f"median detection delay {median} > {MEDIAN_DELAY}")
    return missed
