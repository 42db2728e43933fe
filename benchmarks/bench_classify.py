"""Classification throughput on one core: the eval set repeated, events/s printed.

Run: ``python benchmarks/bench_classify.py [--repeat N]``. Measures
``classifier.classify(event)`` on already-validated events (the stream's cost
per event), then the full ``vigie classify`` line path (JSON decode, validation,
classification, JSON encode) for comparison. Not a test: numbers vary by machine.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import orjson

from schemas.events import SocialEvent
from streams.classify import default_classifier
from vigie.commands.classify import classify_line

EVAL_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "classify_eval.jsonl"


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, else what the platform module knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=100, help="passes over the eval set")
    args = parser.parse_args()

    lines = [line for line in EVAL_SET.read_bytes().splitlines() if line.strip()]
    events = []
    for line in lines:
        record = orjson.loads(line)
        record.pop("expected", None)
        record.pop("split", None)
        events.append(SocialEvent.model_validate(record))
    classifier = default_classifier()
    for event in events:  # warm-up: lazy language model, regex caches
        classifier.classify(event)

    print(f"CPU: {cpu_model()}")
    print(f"Python: {sys.version.split()[0]} ({platform.python_implementation()})")
    print(f"eval set: {len(events)} events x {args.repeat} passes")

    start = time.perf_counter()
    for _ in range(args.repeat):
        for event in events:
            classifier.classify(event)
    elapsed = time.perf_counter() - start
    print(f"classify(event):       {len(events) * args.repeat / elapsed:>10,.0f} events/s")

    passes = max(1, args.repeat // 5)
    start = time.perf_counter()
    for _ in range(passes):
        for line in lines:
            orjson.dumps(classify_line(line, classifier))
    elapsed = time.perf_counter() - start
    print(f"JSONL line end to end: {len(lines) * passes / elapsed:>10,.0f} events/s")


if __name__ == "__main__":
    main()
