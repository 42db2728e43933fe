"""Offline surge throughput on one core: ``python benchmarks/bench_surge.py [NAME...]``.

Events of each scripted scenario named (default ``noisy_day``; ``all``: the six) are
generated first (not timed), then replayed
through (1) the detector alone and (2) the whole chain the stream runs after
classify: exact dedup, near-dup, term extraction and detector. Prints events/s
with the machine it ran on and its load. A benchmark, not a test: numbers vary by machine.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from typing import Any

from core.dedupe import tokenize
from core.surge.detector import SurgeDetector
from core.surge.pipeline import SurgePipeline
from core.surge.terms import salient_terms
from lab.scenarios import SCENARIOS, scenario
from vigie.bench.report import cpu_model


def _rows(name: str) -> list[dict[str, Any]]:
    return [
        {
            "event_id": e.event_id, "ts": e.created_at.timestamp(), "platform": e.platform.value,
            "brand": e.brand, "text": e.text, "author": e.author.id,
            "followers": e.author.followers or 0, "polarity": (e.model_extra or {})["sentiment"],
        }
        for e in scenario(name, seed=0).events
    ]


def _bench(name: str) -> None:
    rows = _rows(name)
    terms = [salient_terms(tokenize(r["text"])) if r["polarity"] != "neutral" else ()
             for r in rows]
    print(f"scenario {name}: {len(rows):,} events over two days of event time")

    detector = SurgeDetector()
    started = time.perf_counter()
    for row, words in zip(rows, terms, strict=True):
        detector.observe(row["ts"], row["brand"], row["platform"], row["polarity"],
                         row["event_id"], terms=words, followers=row["followers"])
    elapsed = time.perf_counter() - started
    print(f"  detector alone (terms given):        {len(rows) / elapsed:>10,.0f} events/s")

    pipeline = SurgePipeline()
    started = time.perf_counter()
    for row in rows:
        pipeline.feed(
            event_id=row["event_id"], ts=row["ts"], platform=row["platform"],
            brand=row["brand"], text=row["text"], author=row["author"],
            followers=row["followers"], polarity=row["polarity"])
    elapsed = time.perf_counter() - started
    print(f"  dedup + near-dup + terms + detector: {len(rows) / elapsed:>10,.0f} events/s")


def main() -> None:
    names = sys.argv[1:] or ["noisy_day"]
    if names == ["all"]:
        names = list(SCENARIOS)
    print(f"python {platform.python_version()} on {platform.machine()}, {cpu_model()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (1 min)")
    for name in names:
        _bench(name)
    print(f"load average at the end {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
