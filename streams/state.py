"""Table-backed state with one changelog write per key per batch, not per update.

The surge detector updates the same minute bucket for every event; written straight
to a Faust table, each update would be one changelog record. :class:`BufferedTable`
keeps the batch's updates in memory and writes each changed key once at
:meth:`flush`, which the agent calls before acknowledging the batch, so a restart
restores exactly the state of the last acknowledged batch.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any, TypeVar

V = TypeVar("V")
_ABSENT = object()  # not cached yet
_DELETED = object()  # deleted in this batch, not yet in the table


class BufferedTable(MutableMapping[str, V]):
    """A write-behind view of ``table`` (any mapping; a Faust table in the worker)."""

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self.table = table
        self._cache: dict[str, Any] = {}
        self._dirty: set[str] = set()

    def __getitem__(self, key: str) -> V:
        value = self._cache.get(key, _ABSENT)
        if value is _ABSENT:
            value = self.table[key]  # KeyError when missing, like a dict
            self._cache[key] = value
        if value is _DELETED:
            raise KeyError(key)
        result: V = value
        return result

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _ABSENT) is not _ABSENT

    def __setitem__(self, key: str, value: V) -> None:
        self._cache[key] = value
        self._dirty.add(key)

    def __delitem__(self, key: str) -> None:
        self.__getitem__(key)  # KeyError for a missing key, as dict raises
        self._cache[key] = _DELETED
        self._dirty.add(key)

    def __iter__(self) -> Iterator[str]:
        for key in list(self.table):
            if self._cache.get(key) is not _DELETED:
                yield key
        for key, value in list(self._cache.items()):
            if value is not _DELETED and key not in self.table:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def flush(self) -> int:
        """Write every key changed since the last flush to the table; returns how many."""
        written = len(self._dirty)
        for key in self._dirty:
            value = self._cache[key]
            if value is _DELETED:
                del self._cache[key]
                if key in self.table:
                    del self.table[key]
            else:
                self.table[key] = value
        self._dirty.clear()
        return written
