"""Warm start: per-minute counts from before a detector's first event.

A detector whose state is empty (a new deployment, a lost changelog) would need its
first hour to forecast anything and a day before its seasonal profile. Given the
last days of per-minute message counts (``events_per_minute`` in ClickHouse, or the
same rows in a JSONL file for ``vigie detect --history``), it learns its baselines
from them at start, as if it had seen those minutes
(:meth:`~core.surge.detector.SurgeDetector.preload`).

The counts are every stored message, spam waves included (the roll-up does not
know them); the baselines winsorize minutes, which bounds what a wave teaches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from core.surge.detector import Count, SurgeDetector

# One day at a time, oldest first: the worker yields to its event loop between days.
HISTORY_SQL = """
SELECT toUnixTimestamp(minute) AS minute, brand, platform, sentiment,
       uniqMerge(events) AS events
FROM events_per_minute
WHERE minute >= {since:DateTime('UTC')} AND minute < {until:DateTime('UTC')}
GROUP BY minute, brand, platform, sentiment
ORDER BY minute
"""

Query = Callable[[str, dict[str, Any]], Awaitable[Sequence[Sequence[Any]]]]


def count(minute: Any, brand: Any, platform: Any, sentiment: Any, events: Any) -> Count:
    """One row of counts: ``minute`` as epoch seconds or an ISO-8601 time (UTC unless
    it says otherwise); an empty brand is none."""
    if isinstance(minute, str):
        moment = datetime.fromisoformat(minute.replace("Z", "+00:00"))
        seconds = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    else:
        seconds = float(minute)
    return int(seconds // 60), str(brand) if brand else None, str(platform), str(sentiment), \
        float(events)


def read_counts(lines: Iterable[bytes]) -> Iterator[Count]:
    """Counts from JSONL lines of ``{"minute", "brand", "platform", "sentiment", "events"}``
    (what ``vigie history`` writes)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
            yield count(row["minute"], row.get("brand"), row["platform"], row["sentiment"],
                        row["events"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"history line {number}: {exc}") from exc


def _at(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%d %H:%M:%S")


def day_params(until: int, back: int) -> dict[str, Any]:
    """Parameters of :data:`HISTORY_SQL` for the day ``back`` days before epoch minute
    ``until``."""
    since = until - back * 1440
    return {"since": _at(since), "until": _at(since + 1440)}


async def warm_start(detector: SurgeDetector, query: Query, until: int, days: int) -> int:
    """Preload ``detector`` with the last ``days`` days of counts before epoch minute
    ``until`` (the first event it is about to see); returns the minutes learned."""
    learned = 0
    for back in range(days, 0, -1):
        rows = await query(HISTORY_SQL, day_params(until, back))
        learned += detector.preload(count(*row) for row in rows)
        await asyncio.sleep(0)  # a day of minutes takes a while: let the loop breathe
    return learned
