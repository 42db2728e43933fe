"""Classification throughput on one core, events/s printed.

Run: ``python benchmarks/bench_classify.py [--repeat N] [--traffic N]``. Measures
``classifier.classify(event)`` on already-validated events (the stream's cost
per event) over the hard eval set and over simulated traffic (the mix of
ordinary messages production sees), then the full ``vigie classify`` line path
(JSON decode, validation, classification, JSON encode) on the eval set. Not a
test: numbers vary by machine.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import orjson

from ingest.simulator import Simulator
from schemas.events import SocialEvent
from streams.brands import BrandDirectory
from streams.classify import Classifier, default_classifier
from vigie.bench.report import cpu_model
from vigie.commands.classify import classify_line

EVAL_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "classify_eval.jsonl"


def events_per_second(classifier: Classifier, events: list[SocialEvent], repeat: int) -> float:
    """``classify`` calls per second over ``events`` passed ``repeat`` times."""
    start = time.perf_counter()
    for _ in range(repeat):
        for event in events:
            classifier.classify(event)
    return len(events) * repeat / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=100, help="passes over the eval set")
    parser.add_argument("--traffic", type=int, default=20_000, help="simulated deliveries")
    args = parser.parse_args()

    lines = [line for line in EVAL_SET.read_bytes().splitlines() if line.strip()]
    events = []
    for line in lines:
        record = orjson.loads(line)
        record.pop("expected", None)
        record.pop("split", None)
        events.append(SocialEvent.model_validate(record))
    traffic = [
        event
        for message in Simulator(BrandDirectory.load()).messages(args.traffic)
        for event in message.expected
    ]
    classifier = default_classifier()
    for event in events + traffic:  # warm-up: lazy language model, regex caches
        classifier.classify(event)

    print(f"CPU: {cpu_model()}")
    print(f"Python: {sys.version.split()[0]} ({platform.python_implementation()})")
    print(f"eval set: {len(events)} events x {args.repeat} passes")
    print(f"simulated traffic: {len(traffic)} events x 2 passes")
    eval_eps = events_per_second(classifier, events, args.repeat)
    print(f"classify(event), eval set:          {eval_eps:>10,.0f} events/s")
    traffic_eps = events_per_second(classifier, traffic, 2)
    print(f"classify(event), simulated traffic: {traffic_eps:>10,.0f} events/s")

    passes = max(1, args.repeat // 5)
    start = time.perf_counter()
    for _ in range(passes):
        for line in lines:
            orjson.dumps(classify_line(line, classifier))
    elapsed = time.perf_counter() - start
    print(f"JSONL line end to end, eval set:    {len(lines) * passes / elapsed:>10,.0f} events/s")


if __name__ == "__main__":
    main()
