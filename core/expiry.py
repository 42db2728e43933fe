"""Memories that forget: entries dropped a TTL of event time behind the newest event,
and never more than a cap, whatever the rate.

The worker remembers ids (exact dedup) and people who wrote in private (DM windows)
in changelog-backed tables. Without expiry both grow with every new id, in memory
and in the changelog every restore reads.
"""

from __future__ import annotations

import math
from collections.abc import Callable, MutableMapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ScansValues(Protocol):
    """A memory that finds the keys of its values below a limit itself, without building
    every key (:class:`streams.digests.DigestMap`: several times faster than reading
    them all, and it runs in the worker's event loop)."""

    def keys_below(self, limit: int) -> list[str]: ...

    def value_at(self, fraction: float) -> int:
        """About the value ``fraction`` of the entries lie below (the cap's oldest)."""
        ...


def _expired(mapping: MutableMapping[str, Any], horizon: float,
            stamp: Callable[[Any], float]) -> list[str]:
    """Keys of the entries whose ``stamp`` is before ``horizon``."""
    return [key for key, value in mapping.items() if stamp(value) < horizon]


class ExpiringMemory:
    """Drops the entries of ``mapping`` older than ``ttl`` seconds behind the newest
    event time seen (:meth:`advance`), every ``sweep_every`` seconds of event time
    (default ``ttl / 16``: a sweep scans the whole mapping, so it is rare, and memory
    stays within 1/16 of the TTL's worth); and past ``max_entries`` (:meth:`added`),
    the oldest, down to 90 % of it: at a few thousand events a second a TTL of days
    holds hundreds of millions of entries, and event time may stall.

    An entry's event time is ``stamp(value)``. Int values must keep event time in
    their bits above ``shift`` (so a :class:`ScansValues` mapping finds the old ones
    by value). ``on_drop`` gets the keys each sweep dropped (state kept beside them).
    """

    def __init__(self, mapping: MutableMapping[str, Any], *, ttl: float, shift: int,
                 stamp: Callable[[Any], float], sweep_every: float | None = None,
                 max_entries: int = 5_000_000,
                 on_drop: Callable[[list[str]], None] | None = None) -> None:
        self.mapping, self.ttl, self.shift, self.stamp = mapping, ttl, shift, stamp
        self.sweep_every = ttl / 16 if sweep_every is None else sweep_every
        self.max_entries = max_entries
        self.on_drop = on_drop
        self.watermark = float("-inf")
        self._next_sweep = float("-inf")

    @property
    def horizon(self) -> float:
        """Entries stamped before this event time are expired."""
        return self.watermark - self.ttl

    def advance(self, ts: float) -> None:
        """An event of time ``ts`` was seen: sweep when a sweep is due."""
        if ts > self.watermark:
            self.watermark = ts
            if ts >= self._next_sweep:
                self.sweep()

    def added(self) -> None:
        """An entry was added: sweep when the mapping outgrew its cap."""
        if len(self.mapping) > self.max_entries:
            self.sweep()

    def sweep(self) -> int:
        """Drop expired entries (and the oldest ones beyond the cap); returns how many."""
        mapping, keep = self.mapping, int(self.max_entries * 0.9)
        if isinstance(mapping, ScansValues):  # int entries, in event-time order
            limit = math.ceil(max(self.horizon, 0.0)) << self.shift
            if len(mapping) > self.max_entries:  # and the oldest beyond the cap
                limit = max(limit, mapping.value_at(1 - keep / len(mapping)))
            stale = mapping.keys_below(limit)
            if len(mapping) - len(stale) > self.max_entries:  # all tied at the limit
                stale = mapping.keys_below(limit + 1)
        else:
            stale = _expired(mapping, self.horizon, self.stamp)
            if len(mapping) - len(stale) > self.max_entries:
                by_age = sorted(mapping.items(), key=lambda kv: self.stamp(kv[1]))
                stale = [k for k, _ in by_age[: len(mapping) - keep]]
        for key in stale:
            del mapping[key]
        if self.on_drop is not None:
            self.on_drop(stale)
        self._next_sweep = self.watermark + self.sweep_every
        return len(stale)
