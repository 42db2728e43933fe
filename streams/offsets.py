"""Which offsets a worker may commit: decided by the agents, not by Faust's ack bookkeeping.

Why: during a rebalance Faust's consumer can skip records of a partition it keeps (a
stale read position left by the fetch loop makes it drop the records after the seek),
then treats the skipped offsets as a *gap* (meant for compacted topics and
transaction markers) and commits over them. Two-worker runs lost 9 to 22 events that
way at each rebalance. So every consumed topic is declared with acks disabled (Faust
never commits it) and each agent keeps an :class:`OffsetTracker`:

- a record is *admitted* only if it is the next offset of its partition, or an
  earlier one (a redelivery, harmless: dedup and ReplacingMergeTree absorb it);
- a later record reveals a *hole*: it is left out (records of the same batch are
  still admitted once they are the next offset), and the caller seeks the partition
  back to the first missing offset, again while the hole stays open
  (:meth:`OffsetTracker.stalled`);
- a batch, once stored, commits the positions its admission reached. Completions run
  in batch order, so a commit never passes a record that was not stored.

After a revocation every position is forgotten and batches admitted before it do not
commit; positions are then read again from the group's committed offsets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

Partition = tuple[str, int]  # (topic, partition)

# A hole still open this long after its seek is sought again. Not sooner: records
# fetched before the seek (up to four batches in the stream's buffer) arrive first and
# take seconds to drain under load; each early re-seek queued the same records again.
RESEEK_AFTER_S = 10.0
# A partition behind its end with nothing of it read or in flight this long is read
# again from its commit: records the consumer dropped at the very end of a partition
# (a rebalance racing a fetch) leave no later record to reveal the gap.
IDLE_REREAD_S = 3 * RESEEK_AFTER_S


@dataclass(frozen=True, slots=True)
class Admission:
    """What to do with one batch: which records to process, where to seek, what to commit."""

    kept: list[int]  # indices of the records to process
    holes: dict[Partition, int]  # partition -> first missing offset, to seek back to
    reached: dict[Partition, int]  # partition -> position to commit once the batch is stored
    generation: int


@dataclass
class OffsetTracker:
    """Per owned partition, the next offset the agent must see (see the module docstring)."""

    generation: int = 0
    _next: dict[Partition, int] = field(default_factory=dict)
    _sought: dict[Partition, tuple[int, float]] = field(default_factory=dict)

    def unknown(self, partitions: Iterable[Partition]) -> set[Partition]:
        """Partitions with no position yet (newly assigned): their start must be read."""
        return {p for p in partitions if p not in self._next}

    def start(self, positions: Mapping[Partition, int]) -> None:
        """Where reading resumes on newly assigned partitions (their committed offsets)."""
        for partition, offset in positions.items():
            self._next.setdefault(partition, offset)

    def reset(self) -> None:
        """Partitions were revoked: forget all positions; older admissions cannot commit."""
        self._next.clear()
        self._sought.clear()
        self.generation += 1

    def admit(self, records: Sequence[tuple[Partition, int]]) -> Admission:
        """Admit a batch's ``(partition, offset)`` records, in delivery order.

        A record ahead of its partition's position is left out, but a later record of the
        same batch may still be the expected one: after a seek back, the re-read records
        often follow, in the same batch, records fetched before the seek."""
        kept: list[int] = []
        ahead: dict[Partition, int] = {}  # partition -> highest offset left out
        reached: dict[Partition, int] = {}
        expected_of = self._next
        for index, (partition, offset) in enumerate(records):
            expected = expected_of[partition]
            if offset > expected:
                ahead[partition] = max(offset, ahead.get(partition, offset))
                continue
            kept.append(index)
            if offset == expected:
                expected_of[partition] = expected + 1
                self._sought.pop(partition, None)  # the hole, if any, is closed
            reached[partition] = expected_of[partition]
        holes = {p: expected_of[p] for p, top in ahead.items() if top >= expected_of[p]}
        return Admission(kept, holes, reached, self.generation)

    def position(self, partition: Partition) -> int | None:
        """The next offset the agent must see on ``partition`` (None: not read yet)."""
        return self._next.get(partition)

    def should_seek(self, partition: Partition, offset: int, now: float) -> bool:
        """Seek once per hole; again only if it is still open after :data:`RESEEK_AFTER_S`
        (records fetched before the seek keep arriving for a moment)."""
        previous = self._sought.get(partition)
        if previous is not None and previous[0] == offset and now - previous[1] < RESEEK_AFTER_S:
            return False
        self._sought[partition] = (offset, now)
        return True

    def stalled(self, now: float) -> dict[Partition, int]:
        """Holes sought back to more than :data:`RESEEK_AFTER_S` ago and still open.

        A hole is normally found again, and sought again, by the next records of its
        partition; when the consumer dropped the re-read records and the partition has
        no newer ones, nothing arrives to reveal it, so it must be looked for."""
        return {partition: offset for partition, (offset, at) in self._sought.items()
                if now - at >= RESEEK_AFTER_S}  # closed holes leave _sought in admit()

    def committable(self, admission: Admission) -> dict[Partition, int]:
        """The positions ``admission`` may commit now that its batch is stored."""
        return dict(admission.reached) if admission.generation == self.generation else {}
