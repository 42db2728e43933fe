"""A compact memory of message ids: 128-bit digests and int values in flat arrays.

The exact-dedup table remembers every forwarded id for its TTL (48 h by default): at
a few thousand events a second that is millions of entries per worker. In a dict,
an entry costs ~170 bytes (the id string, the int, the dict slot). Here a slot costs
26 bytes, and 35-70 % of the slots are in use: the key, the id's 128-bit digest
(:func:`core.dedupe.digest`), is kept as two unsigned 64-bit words and the value
as a signed one, in ``array`` columns probed linearly, with the changelog partition
the entry was written under (its tombstone must go there too).

:class:`DigestStore` is the Faust memory store with that mapping as its data, so
live writes, restores and standby copies all land in it.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any

from faust.stores import memory
from faust.types import EventT

log = logging.getLogger(__name__)

_WORD = 0xFFFF_FFFF_FFFF_FFFF
_FREE, _GONE = -1, -2  # values marking a never used / a deleted slot (probing goes on)
_MAX_LOAD = 0.7  # live and deleted slots over capacity, before the arrays are rebuilt
_SAMPLE_SLOTS = 65_536  # slots read to estimate a quantile of the values


def _words(key: str) -> tuple[int, int]:
    if len(key) != 32:
        raise KeyError(key)
    try:
        whole = int(key, 16)
    except ValueError:
        raise KeyError(key) from None
    return whole >> 64, whole & _WORD


def _key(high: int, low: int) -> str:
    return f"{high:016x}{low:016x}"


class DigestMap(MutableMapping[str, int]):
    """:func:`core.dedupe.digest` of an id → int, in 26 bytes a slot (see the module
    docstring).

    Keys are 32-character hex digests, values ints in [0, 2^63), each with the
    partition it was written under (:meth:`put`; 0 through the mapping interface).
    Linear probing over ``array`` columns; deleted slots stay marked until the next
    rebuild.
    """

    def __init__(self) -> None:
        self._allocate(1024)

    def _allocate(self, capacity: int) -> None:
        self._mask = capacity - 1
        self._high = array("Q", bytes(8 * capacity))
        self._low = array("Q", bytes(8 * capacity))
        self._values = array("q", [_FREE]) * capacity
        self._partitions = array("H", bytes(2 * capacity))
        self._live = 0
        self._used = 0  # live and deleted slots

    def _find(self, high: int, low: int) -> tuple[int, bool]:
        """(slot, found): the key's slot, else the slot a new entry for it takes."""
        mask, values, highs, lows = self._mask, self._values, self._high, self._low
        slot, reuse = low & mask, -1
        while True:
            value = values[slot]
            if value == _FREE:
                return (slot if reuse < 0 else reuse), False
            if value == _GONE:
                if reuse < 0:
                    reuse = slot
            elif lows[slot] == low and highs[slot] == high:
                return slot, True
            slot = (slot + 1) & mask

    def __getitem__(self, key: str) -> int:
        slot, found = self._find(*_words(key))
        if not found:
            raise KeyError(key)
        return self._values[slot]

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __setitem__(self, key: str, value: int) -> None:
        self.put(key, value, 0)

    def put(self, key: str, value: int, partition: int) -> None:
        """Set ``key`` to ``value``, written under changelog ``partition``."""
        if not 0 <= value < 1 << 63:
            raise ValueError(f"dedup value out of range: {value!r}")
        high, low = _words(key)
        slot, found = self._find(high, low)
        if not found:
            if self._values[slot] == _FREE:
                self._used += 1
            self._high[slot], self._low[slot] = high, low
            self._live += 1
        self._values[slot] = value
        self._partitions[slot] = partition
        if self._used > _MAX_LOAD * (self._mask + 1):
            self._rebuild()

    def __delitem__(self, key: str) -> None:
        self.remove(key)

    def remove(self, key: str) -> int:
        """Delete ``key``; returns the partition it was written under."""
        slot, found = self._find(*_words(key))
        if not found:
            raise KeyError(key)
        self._values[slot] = _GONE
        self._live -= 1
        return self._partitions[slot]

    def _rebuild(self) -> None:
        """Move the live entries to arrays where they fill at most half the slots."""
        highs, lows, values, partitions = self._high, self._low, self._values, self._partitions
        capacity = self._mask + 1
        while self._live > capacity // 2:
            capacity *= 2
        live = self._live
        self._allocate(capacity)
        mask, new_highs, new_lows, new_values, new_partitions = (
            self._mask, self._high, self._low, self._values, self._partitions)
        for old, value in enumerate(values):
            if value >= 0:
                slot = lows[old] & mask
                while new_values[slot] != _FREE:
                    slot = (slot + 1) & mask
                new_highs[slot], new_lows[slot], new_values[slot] = highs[old], lows[old], value
                new_partitions[slot] = partitions[old]
        self._live = self._used = live

    def items(self) -> Iterator[tuple[str, int]]:  # type: ignore[override]
        """A snapshot: the map may change while it is consumed (the TTL sweep)."""
        highs, lows = self._high, self._low
        entries = [(slot, value) for slot, value in enumerate(self._values) if value >= 0]
        for slot, value in entries:
            yield _key(highs[slot], lows[slot]), value

    def keys_below(self, limit: int) -> list[str]:
        """Keys of the values below ``limit`` (the TTL sweep's expired entries)."""
        values, highs, lows = self._values, self._high, self._low
        return [_key(highs[slot], lows[slot])
                for slot, value in enumerate(values) if 0 <= value < limit]

    def value_at(self, fraction: float) -> int:
        """About the value ``fraction`` of the entries lie below, from up to 65,536 slots
        spread over the table (hash order, so a fair sample): milliseconds for millions
        of entries, where sorting them all takes seconds."""
        step = max(1, len(self._values) // _SAMPLE_SLOTS)
        sample = sorted(value for value in self._values[::step] if value >= 0)
        if not sample:
            sample = sorted(value for value in self._values if value >= 0)
        return sample[min(len(sample) - 1, int(fraction * len(sample)))] if sample else 0

    def __iter__(self) -> Iterator[str]:
        for key, _ in self.items():
            yield key

    def __len__(self) -> int:
        return self._live

    def clear(self) -> None:
        self._allocate(1024)

    def restore(self, records: Iterable[tuple[Any, Any, int]]) -> int:
        """Apply changelog records ``(key, value, partition)`` in order (a None value
        deletes); returns how many were skipped because an earlier version wrote them
        (plain ids, ``[ts, source]``)."""
        skipped = 0
        for key, value, partition in records:
            try:
                if value is None:
                    self.pop(key, None)
                else:
                    self.put(key, value, partition)
            except (KeyError, ValueError, TypeError):
                skipped += 1
        return skipped


class DigestStore(memory.Store[str, int]):
    """Faust's memory store over a :class:`DigestMap` (``store="digests://"``)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.data = self.digests = DigestMap()

    def apply_changelog_batch(self, batch: Iterable[EventT[Any]],
                              to_key: Callable[[Any], Any],
                              to_value: Callable[[Any], Any]) -> None:
        """Restore changelog records in order, each under its partition. Faust's memory
        store also drops other partitions' keys after recovery; not here: an id of
        another partition never matches this worker's records, and the TTL sweep
        removes it."""
        skipped = self.digests.restore(
            (to_key(e.key), None if e.message.value is None else to_value(e.value),
             e.message.partition) for e in batch)
        if skipped:
            log.warning("table %s: %d restored entries of an earlier format skipped (a "
                        "redelivery of such a message counts as new once; a contact's DM "
                        "window is missed until the person writes again)",
                        self.table.name, skipped)
