"""The loop-lag probe measures how long the event loop was held, and its watchdog says
where the loop was held."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from base.metrics import Metrics
from streams.looplag import LoopLagProbe, SliceSizer

HOLD_S = 0.3


def hold_the_loop_for_a_while() -> None:
    time.sleep(HOLD_S)  # what a long computation between two awaits does to the loop


async def _probed(probe: LoopLagProbe) -> None:
    task = asyncio.create_task(probe.run())
    await asyncio.sleep(0.2)  # the probe runs
    hold_the_loop_for_a_while()
    await asyncio.sleep(0.2)  # the probe wakes up late, once
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_the_probe_reports_the_longest_hold_as_a_gauge_and_a_histogram() -> None:
    metrics = Metrics()
    probe = LoopLagProbe(metrics)
    await _probed(probe)
    assert probe.longest >= HOLD_S * 0.8
    assert metrics.loop_longest_hold._value.get() == probe.longest
    assert probe.take_recent() == probe.longest
    assert probe.take_recent() == 0.0, "the recent hold restarts after each reading"
    samples = {s.name: s.value for s in metrics.loop_lag.collect()[0].samples
               if not s.labels.get("le")}
    assert samples["vigie_event_loop_lag_seconds_count"] > 2
    assert samples["vigie_event_loop_lag_seconds_sum"] >= HOLD_S * 0.8


async def test_the_watchdog_logs_where_the_loop_was_held(caplog: pytest.LogCaptureFixture) -> None:
    await _probed(LoopLagProbe(Metrics(), warn_s=HOLD_S / 3))
    held = [r.getMessage() for r in caplog.records if "event loop held" in r.getMessage()]
    assert len(held) == 1, "once per hold"
    assert "hold_the_loop_for_a_while" in held[0]
    ended = [r.getMessage() for r in caplog.records if "event loop was held" in r.getMessage()]
    assert len(ended) == 1, "and its length once it ended"


def test_slices_shrink_when_computing_is_slow_and_grow_back_by_doubling() -> None:
    sizer = SliceSizer(largest=250, smallest=25, target_s=0.2)
    assert sizer.size == 250
    sizer.took(250, 0.1)  # a quiet machine: the largest slice fits
    assert sizer.size == 250
    sizer.took(250, 1.0)  # five times slower than wanted
    assert sizer.size == 50
    sizer.took(50, 10.0)  # never below the smallest
    assert sizer.size == 25
    sizer.took(25, 0.001)  # fast again: doubling at most
    assert sizer.size == 50
    sizer.took(0, 0.0)  # nothing measured, nothing changed
    assert sizer.size == 50
