"""Classification cost per message on one core, in batches as the stream labels them.

Run: ``python benchmarks/bench_classify.py [--batch 500] [--traffic 20000] [--passes 3]``.
Measures ``classify_batch`` over the corpus's test split and over simulated traffic
(the mix of ordinary messages production sees), and, on the same messages, the
parts of the stage: language, personal-data validators, exact cues, the model's
scoring and the reasons. Prints the machine; not a test: numbers vary by machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np

from core.brands import BrandDirectory
from core.classify import ModelClassifier
from core.classify.cues import cue_columns
from core.classify.lang import detect_language
from core.classify.model import INTENT_COLUMNS, SENTIMENT_COLUMNS, shipped_model
from core.classify.pii import find_personal_data
from core.classify.text import prepare
from lab.classify.corpus import load_split
from lab.simulator import Simulator
from schemas.events import SocialEvent
from streams.app import GC_THRESHOLDS
from vigie.bench.report import cpu_model


def microseconds(work: Callable[[Sequence[SocialEvent]], object],
                 events: list[SocialEvent], batch: int, passes: int) -> float:
    """Best of ``passes`` runs of ``work`` over ``events`` cut in batches, CPU µs a message."""
    best = float("inf")
    for _ in range(passes):
        start = time.process_time()  # CPU time: steadier than wall time on a shared machine
        for i in range(0, len(events), batch):
            work(events[i:i + batch])
        best = min(best, time.process_time() - start)
    return best / len(events) * 1e6


def stages(events: list[SocialEvent], batch: int, passes: int) -> dict[str, float]:
    """µs a message of each part of the stage, measured apart."""
    model = shipped_model()

    def language(chunk: Sequence[SocialEvent]) -> None:
        for e in chunk:
            detect_language(e.text, prepare(e.text).tokens, e.lang)

    def personal_data(chunk: Sequence[SocialEvent]) -> None:
        for e in chunk:
            find_personal_data(e.text)

    def cues(chunk: Sequence[SocialEvent]) -> None:
        for e in chunk:
            cue_columns(e.text, e.platform, e.kind, False)

    def scoring(chunk: Sequence[SocialEvent]) -> None:
        model.score([e.text for e in chunk], [[] for _ in chunk])

    def reasons(chunk: Sequence[SocialEvent]) -> None:
        scores = model.score([e.text for e in chunk], [[] for _ in chunk])
        everyone = np.arange(len(chunk))
        model.explain(scores, np.concatenate([everyone, everyone]), np.concatenate([
            scores.logits[:, SENTIMENT_COLUMNS].argmax(axis=1),
            scores.logits[:, INTENT_COLUMNS].argmax(axis=1) + INTENT_COLUMNS.start]))

    return {name: microseconds(work, events, batch, passes) for name, work in (
        ("language", language), ("personal data", personal_data), ("cues", cues),
        ("model scoring", scoring), ("scoring + 2 explanations", reasons))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=500, help="messages a classify call")
    parser.add_argument("--traffic", type=int, default=20_000, help="simulated deliveries")
    parser.add_argument("--passes", type=int, default=3, help="runs; the best is kept")
    args = parser.parse_args()
    gc.set_threshold(*GC_THRESHOLDS)  # as in a worker

    test = [case.event for case in load_split("test")]  # the texts only, labels unread
    traffic = [event for message in Simulator(BrandDirectory.load()).messages(args.traffic)
               for event in message.expected]
    classifier = ModelClassifier()
    classifier.classify_batch(test[:10] + traffic[:10])  # warm-up: lazy language model

    print(f"CPU: {cpu_model()} ({os.cpu_count()} cores), one used")
    print(f"Python: {sys.version.split()[0]} ({platform.python_implementation()}), "
          f"numpy {np.__version__}")
    print(f"batch: {args.batch} messages, best of {args.passes} passes")
    for name, events in (("corpus test split", test), ("simulated traffic", traffic)):
        total = microseconds(classifier.classify_batch, events, args.batch, args.passes)
        print(f"\n{name}: {len(events)} messages, mean {np.mean([len(e.text) for e in events]):.0f}"
              f" characters")
        print(f"  classify_batch           {total:7.1f} µs a message"
              f"  ({1e6 / total:,.0f} messages/s)")
        for stage, cost in stages(events, args.batch, args.passes).items():
            print(f"    {stage:<24} {cost:7.1f} µs")


if __name__ == "__main__":
    main()
