"""Table-backed state: changelog records written the cheap way.

:class:`LoggedTable` writes straight to a Faust table's store and collects the
changelog records for the agent to send with the batch's other outputs.

The surge detector updates the same minute bucket for every event; written straight
to a Faust table, each update would be one changelog record. :class:`BufferedTable`
keeps the batch's updates in memory and writes each changed key once at
:meth:`flush`, which the agent calls before acknowledging the batch, so a restart
restores exactly the state of the last acknowledged batch.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from functools import cached_property
from typing import Any, TypeVar, cast

from faust.types import TP, TableT

from streams.digests import DigestMap, DigestStore
from streams.outbox import Outbox

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


class LoggedTable(MutableMapping[str, int]):
    """A Faust table in the compact store (:class:`~streams.digests.DigestStore`),
    written straight to its map, its changelog records kept for :meth:`drain` into
    the batch's :class:`~streams.outbox.Outbox`.

    Faust sends one changelog record per write through its own per-record path (a
    future message, its producer buffer, aiokafka's per-record send), a noticeable
    share of a worker's time for the dedup table, written once per event. The records are the
    bytes Faust would send, under the partition Faust would pick: that of the record
    being computed, which the agent sets in :attr:`partition`. A restart restores them
    like any other changelog record; the agent acknowledges a batch only once they are
    delivered.
    """

    def __init__(self, table: TableT[str, int]) -> None:
        if not isinstance(table.data, DigestStore):
            raise TypeError(f"table {table.name} needs the compact store (store=DIGESTS)")
        self.table = table
        self.store: DigestMap = table.data.digests
        self.partition = 0
        self._writes: list[tuple[int, str, int | None]] = []

    def __getitem__(self, key: str) -> int:
        return self.store[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.store.get(key, default)

    def __setitem__(self, key: str, value: int) -> None:
        self.store.put(key, value, self.partition)
        self._writes.append((self.partition, key, value))

    def __delitem__(self, key: str) -> None:
        """Delete ``key``; its tombstone goes to the partition the key was written under
        (compaction works per partition: filed elsewhere, it would leave the key's
        record in its own partition for good, and every restore would read it). A key
        of a partition this worker does not own (a standby copy, a partition revoked)
        leaves its memory only: the owner writes the tombstone."""
        partition = self.store.remove(key)
        if self.table.app.assignor.is_active(TP(self._changelog, partition)):
            self._writes.append((partition, key, None))

    @cached_property
    def _changelog(self) -> str:
        return self.table.changelog_topic.get_topic_name()

    def __iter__(self) -> Iterator[str]:
        return iter(self.store)

    def __len__(self) -> int:
        return len(self.store)

    def keys_below(self, limit: int) -> list[str]:
        """Keys of the values below ``limit`` (:class:`core.expiry.ScansValues`)."""
        return self.store.keys_below(limit)

    def value_at(self, fraction: float) -> int:
        return self.store.value_at(fraction)

    def drain(self, outbox: Outbox) -> int:
        """Move the changelog records of the writes since the last drain to ``outbox``."""
        topic = self.table.changelog_topic
        name = topic.get_topic_name()
        table = cast(Any, self.table)  # the serializers are on the concrete class only
        key_serializer, value_serializer = table.key_serializer, table.value_serializer
        for partition, key, value in self._writes:
            raw_key, _ = topic.prepare_key(key, key_serializer)
            raw_value = None if value is None else topic.prepare_value(value, value_serializer)[0]
            outbox.add(name, raw_key, raw_value, partition)
        written = len(self._writes)
        self._writes.clear()
        return written
