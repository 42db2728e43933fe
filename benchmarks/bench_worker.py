"""Throughput of vigie workers alone, on the bench's broker, backlog and no-loss check.

Run: ``python benchmarks/bench_worker.py [--events N] [--workers W] [--loop uvloop]``.
The vigie rows of ``vigie bench`` without the baselines, latency and memory runs:
quicker to repeat while optimising. To profile the worker, run this under
``py-spy record --subprocesses`` (the worker is a child process).
``--stages-precomputed`` measures what the streaming machinery costs without the
stages: the ceiling a faster pipeline could reach. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
from typing import Literal

import psutil

from vigie.bench.harness import WORK_DIR, Payloads, throughput
from vigie.bench.setup import BACKLOG_SEED, BenchConfig
from vigie.embedded import EmbeddedBroker


async def run(events: int, workers: int, loop: Literal["asyncio", "uvloop"],
              precomputed: bool) -> None:
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    logs = WORK_DIR / "logs"
    logs.mkdir(parents=True)
    backlog = Payloads.simulate(events, seed=BACKLOG_SEED)
    with EmbeddedBroker(log_file=WORK_DIR / "tansu.log") as broker:
        tansu = next(p for p in psutil.Process().children() if "tansu" in p.name())
        configs = [BenchConfig(scenario="vigie", bootstrap=broker.bootstrap_servers,
                               prefix="vigie.", chdb_dir=str(WORK_DIR / f"vigie-{i}"),
                               loop=loop, precomputed=events if precomputed else 0)
                   for i in range(workers)]
        r = await throughput("vigie", configs, backlog, tansu, logs, max(120.0, events / 300))
    what = "stages precomputed" if precomputed else loop
    print(f"vigie x{workers} ({what}): {r.eps:,.0f} events/s, CPU {r.cpu_pct:.0f} %, "
          f"broker CPU {r.broker_cpu_pct:.0f} %, peak RSS {r.peak_rss_mb:.0f} MB, longest "
          f"event-loop hold {r.loop_hold_s:.2f} s ({r.loop_hold_all_s:.2f} s with start-up), "
          f"{r.note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument(
        "--stages-precomputed", action="store_true",
        help="the machinery alone: each worker computes the backlog's outputs before it "
             "starts, then serves them")
    args = parser.parse_args()
    asyncio.run(run(args.events, args.workers, args.loop, args.stages_precomputed))


if __name__ == "__main__":
    main()
