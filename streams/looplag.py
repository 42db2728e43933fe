"""How long the event loop is held: a probe that measures it, a watchdog that says where
the loop was when it was held too long, and a sizer that keeps slices of work short.

Everything in a worker shares one event loop: heartbeats to the group coordinator,
timers, the HTTP endpoints, fetches. A callback that runs for seconds delays all of
them (a missed heartbeat costs a rebalance). The probe sleeps a short interval over
and over; how much later than asked it wakes is how long the loop was busy elsewhere
(the callbacks ahead of it included). The longest such delay is a gauge, every delay
a histogram sample.

The watchdog is a thread: when the probe has not woken for longer than ``warn_s``, it
logs the stack of the loop's thread at that moment, once per hold, and the probe logs
the hold's whole length when it ends. The watchdog needs the interpreter lock to look,
so it sees a hold by Python code as it happens, but one inside a call that keeps the
lock (a garbage collection) only once it is over, at whatever line came next.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback

from base.metrics import Metrics

log = logging.getLogger(__name__)

PROBE_INTERVAL_S = 0.05  # finer than any hold worth reporting, 20 wake-ups a second


class LoopLagProbe:
    """Measures how late the running loop wakes a sleeper (see the module docstring)."""

    def __init__(self, metrics: Metrics, warn_s: float = 0.0,
                 interval: float = PROBE_INTERVAL_S) -> None:
        self.metrics, self.warn_s, self.interval = metrics, warn_s, interval
        self.longest = 0.0  # since the start
        self._recent = 0.0  # since the last :meth:`take_recent`
        self._tick = time.monotonic()  # last wake-up, read by the watchdog thread
        self._loop_thread: int | None = None

    def record(self, lag: float) -> None:
        lag = max(0.0, lag)
        self.metrics.loop_lag.observe(lag)
        if self.warn_s and lag >= self.warn_s:
            log.warning("event loop was held for %.2f s", lag)
        self._recent = max(self._recent, lag)
        if lag > self.longest:
            self.longest = lag
            self.metrics.loop_longest_hold.set(lag)

    def take_recent(self) -> float:
        """The longest hold since the previous call (a benchmark's samples)."""
        recent, self._recent = self._recent, 0.0
        return recent

    async def run(self) -> None:
        """Probe until cancelled (with the watchdog thread when ``warn_s`` is set)."""
        loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        stop = threading.Event()
        if self.warn_s > 0:
            threading.Thread(target=self._watch, args=(stop,), name="vigie-loop-watchdog",
                             daemon=True).start()
        try:
            while True:
                asked = loop.time()
                self._tick = time.monotonic()
                await asyncio.sleep(self.interval)
                self.record(loop.time() - asked - self.interval)
        finally:
            stop.set()

    def _watch(self, stop: threading.Event) -> None:
        reported = 0.0  # the tick of the hold already reported
        while not stop.wait(self.warn_s / 4):
            tick = self._tick
            held = time.monotonic() - tick - self.interval
            if held < self.warn_s or tick == reported:
                continue
            reported = tick
            frame = sys._current_frames().get(self._loop_thread or 0)
            where = "".join(traceback.format_stack(frame)) if frame is not None else "?"
            log.warning("event loop held for %.2f s so far; it was at:\n%s", held, where)


class SliceSizer:
    """How many records the next slice of a batch holds, so that computing one takes
    about ``target_s`` of wall time: at most ``largest`` (on a quiet machine, few large
    slices cost least per record), at least ``smallest``. On a machine slowed down
    (other processes on its cores, a slower CPU) slices shrink, so the loop still turns
    every ``target_s`` or so; they grow back by doubling at most."""

    def __init__(self, largest: int, smallest: int, target_s: float) -> None:
        self.largest, self.smallest, self.target_s = largest, smallest, target_s
        self.size = largest

    def took(self, records: int, seconds: float) -> None:
        """A slice of ``records`` took ``seconds``: size the next one."""
        if records <= 0 or seconds <= 0:
            return
        fits = int(records * self.target_s / seconds)
        self.size = max(self.smallest, min(self.largest, 2 * self.size, fits))
