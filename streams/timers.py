"""Periodic jobs of a worker that survive their own failures.

A Faust timer whose function raises crashes the whole app: the worker exits, and the
backlog it was draining waits for a restart (a restart that meets the same backlog,
and the same failure). A job here that fails is logged with its exception, counted
(``vigie_periodic_job_failures_total{job}``) and simply runs again at its next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import faust

from base.metrics import Metrics

log = logging.getLogger(__name__)


def periodic(app: faust.App, metrics: Metrics, name: str, interval: float,
             job: Callable[[], Awaitable[None]], *, on_leader: bool = False) -> None:
    """Run ``job`` every ``interval`` seconds (on the group's leader only if
    ``on_leader``); a failure is logged and the job tried again at its next run."""
    failures = metrics.job_failures.labels(name)

    async def run() -> None:
        try:
            await job()
        except Exception:
            failures.inc()
            log.exception("periodic job %s failed; it runs again in %.1f s", name, interval)

    run.__name__ = run.__qualname__ = name  # Faust logs timers by function name
    app.timer(interval, on_leader=on_leader, name=name)(run)
