"""Per-event cost of a worker's computation, offline, in µs per raw record.

Run: ``python benchmarks/bench_pipeline.py [--events N] [--repeat R] [--profile]``.
Feeds simulated raw records (the payloads ``vigie bench`` uses) through
:meth:`Pipeline.process` in slices of 250, as the agent does, then encodes every
output record and builds the ClickHouse rows: the CPU work of one worker for one
event, without Kafka, Faust or ClickHouse. Prints the best of ``repeat`` passes per
stage and a digest of every output byte and row, so an optimisation can show it
changed nothing (same digest before and after). ``--profile`` runs pyinstrument
over one pass instead. Not a test: numbers vary by machine.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime

from base.settings import Settings
from core.brands import BrandDirectory
from core.classify import default_classifier
from core.pipeline import (
    BatchOutput,
    Pipeline,
    RawRecord,
    encode,
    encode_observations,
    masked,
)
from lab.simulator import Simulator
from sinks.rows import event_rows, task_rows
from streams.app import GC_THRESHOLDS
from streams.handlers import SLICE

PROCESSED_AT = datetime(2026, 11, 3, tzinfo=UTC)  # fixed, so the rows' digest is stable


def records(count: int, seed: int = 1) -> list[RawRecord]:
    """Simulated raw records spread over 4 partitions per topic, as on the broker."""
    settings = Settings()
    out = []
    for offset, m in enumerate(Simulator(BrandDirectory.load(), seed=seed).messages(count)):
        out.append(RawRecord(
            topic=settings.topics.raw(m.platform), partition=offset % 4, offset=offset,
            key=m.key, value=m.value, timestamp=None,
            headers={"received_at": b"2026-11-02T12:00:00+00:00"},
        ))
    return out


def process(pipeline: Pipeline, batch: list[RawRecord]) -> BatchOutput:
    out = BatchOutput()
    for start in range(0, len(batch), SLICE):
        out.extend(pipeline.process(batch[start : start + SLICE]))
    return out


def timeless(out: BatchOutput) -> list[bytes]:
    """Output records that carry no wall-clock time (all but the dead letters)."""
    wire = [e.event_id.encode() + encode(e) for e, _ in out.normalized]
    wire += [(e.brand or "").encode() + encode(e) for e, _ in out.classified]
    wire += encode_observations(out.observations)
    wire += [t.key.encode() + encode(t) for t in out.tasks]
    return wire


def encoded(out: BatchOutput) -> list[bytes]:
    """Every record the agent hands to the producer for ``out`` (keys and values)."""
    return timeless(out) + [encode(d) for d in out.dead_letters]


def rows(out: BatchOutput) -> list[object]:
    events = event_rows(((masked(e), r.topic, r.partition, r.offset) for e, r in out.classified),
                        PROCESSED_AT)
    return [*events.rows, *task_rows(out.tasks, PROCESSED_AT).rows]


def digest(out: BatchOutput) -> str:
    """What a change must leave identical: every output record and row (dead letters are
    dated by the wall clock: their reasons and payloads stand for them)."""
    h = hashlib.sha256()
    for item in timeless(out):
        h.update(item)
    for d in out.dead_letters:
        h.update(f"{d.reason}{d.payload_b64}".encode())
    for row in rows(out):
        h.update(repr(row).encode())
    return h.hexdigest()[:16]


def best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="pyinstrument, one pass")
    args = parser.parse_args()
    gc.set_threshold(*GC_THRESHOLDS)  # as in a worker
    settings, brands, classifier = Settings(), BrandDirectory.load(), default_classifier()
    batch = records(args.events)

    def fresh() -> Pipeline:
        return Pipeline(settings, brands, classifier)

    process(fresh(), batch)  # warm caches (token hashes, language model)
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        with profiler:
            out = process(fresh(), batch)
            encoded(out)
            rows(out)
        print(profiler.output_text(unicode=True, show_all=False))
        return
    out = process(fresh(), batch)
    n = len(batch)
    stages = {
        "process": best(args.repeat, lambda: process(fresh(), batch)),
        "encode": best(args.repeat, lambda: encoded(out)),
        "rows": best(args.repeat, lambda: rows(out)),
    }
    for name, seconds in stages.items():
        print(f"{name:8s} {seconds / n * 1e6:7.1f} µs/event")
    print(f"{'total':8s} {sum(stages.values()) / n * 1e6:7.1f} µs/event "
          f"({n / sum(stages.values()):,.0f} events/s on one core)")
    print(f"outputs: {len(out.normalized)} normalized, {len(out.classified)} classified, "
          f"{len(out.tasks)} tasks, {len(out.dead_letters)} dead letters; digest {digest(out)}")


if __name__ == "__main__":
    main()
