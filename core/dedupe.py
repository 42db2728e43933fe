"""Dedup stage: exact redeliveries dropped, near-duplicates (copypasta, bot waves) clustered.

Pure logic with no framework import. Every piece of state lives in an injected
``MutableMapping`` of plain JSON-able values, so a Faust table (changelog-backed,
restored on restart) can be passed in; offline a ``dict`` is used. Values that are
containers are always written back after a change (``state[key] = value``) so a
changelog-backed table records it.

Time is event time (``created_at`` as epoch seconds), never the wall clock, so a
replay gives the same answer as the live run.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from core.expiry import ExpiringMemory

DEFAULT_TTL = 48 * 3600.0

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_TOKEN = re.compile(r"#?[^\W\d_][\w-]*")


def normalize_text(text: str) -> str:
    """Case-folded text without URLs or @handles: what copies of one message share."""
    return _MENTION.sub(" ", _URL.sub(" ", text.casefold()))


def tokenize(text: str) -> list[str]:
    """Words and hashtags of ``text`` after :func:`normalize_text` (digits dropped)."""
    return _TOKEN.findall(normalize_text(text))


def digest(event_id: str) -> str:
    """How the exact-dedup memory names an id: its 128-bit BLAKE2b digest in hex. Fixed
    size whatever the id, so :class:`streams.digests.DigestMap` stores it in 16 bytes;
    two ids share a digest with a probability of about n² / 2^129, nil in practice."""
    return hashlib.blake2b(event_id.encode(), digest_size=16).hexdigest()


_SOURCE_BITS = 31


def first_seen_entry(ts: float, source: str | None) -> float | int:
    """The value kept per forwarded id: its event time, and the record that carried it.

    With a source, one int: whole seconds above a 31-bit CRC of the record's name
    (a pair ``[ts, source]`` took five times the memory, most of a large table). Two
    records of one id sharing the CRC (one chance in 2^31) make the second one a
    re-read: forwarded twice, never lost. Without a source, the time as a float.
    """
    if source is None:
        return ts
    return int(ts) << _SOURCE_BITS | zlib.crc32(source.encode()) & (1 << _SOURCE_BITS) - 1


def _first_seen(value: float) -> float:
    """Event time of an entry."""
    return float(value >> _SOURCE_BITS) if isinstance(value, int) else value


def _same_source(value: float, source: str) -> bool:
    return isinstance(value, int) and value == first_seen_entry(value >> _SOURCE_BITS, source)


class ExactDeduper:
    """Forwards each ``event_id`` once per time-to-live (event time); counts the repeats.

    ``seen`` maps the :func:`digest` of an event id → :func:`first_seen_entry` of its
    first delivery, an :class:`~core.expiry.ExpiringMemory` (``ttl``,
    ``sweep_every``, ``max_entries``).
    """

    def __init__(
        self,
        seen: MutableMapping[str, Any] | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        sweep_every: float | None = None,
        max_entries: int = 5_000_000,
    ) -> None:
        self.seen: MutableMapping[str, Any] = {} if seen is None else seen
        self.memory = ExpiringMemory(self.seen, ttl=ttl, shift=_SOURCE_BITS, stamp=_first_seen,
                                     sweep_every=sweep_every, max_entries=max_entries)
        self.duplicates = 0

    def is_duplicate(self, event_id: str, ts: float, source: str | None = None) -> bool:
        """True when ``event_id`` was already forwarded within the TTL (then counted).

        ``source`` names the record that carried the event (``topic/partition/offset``).
        The same record read again is *not* a duplicate: the memory is saved (its
        changelog written) before the batch's offsets are committed, so after a crash
        the record comes back and must be processed again, or it would be lost. A copy
        delivered as another record (webhook retry, replay) is a duplicate.
        """
        self.memory.advance(ts)
        key = digest(event_id)
        first = self.seen.get(key)
        if first is not None and _first_seen(first) >= self.memory.horizon:
            if source is not None and _same_source(first, source):
                return False
            self.duplicates += 1
            return True
        self.seen[key] = first_seen_entry(ts, source)
        self.memory.added()
        return False


# --- near-duplicates: 64-bit SimHash, 4 bands of 16 bits (any pair within Hamming
# distance 3 shares a band, so a band lookup finds every candidate) ---

_BANDS = 4
_BAND_BITS = 64 // _BANDS
_MAX_TOKENS = 127  # majority vote lanes are 8-bit: at most 127 votes per lane
# Each byte of a token hash is spread so that bit i lands in its own 8-bit lane;
# summing spread hashes counts, per bit, how many tokens set it (one big-int add).
_SPREAD = [sum(1 << (8 * i) for i in range(8) if b >> i & 1) for b in range(256)]
_LANE_ONES = sum(1 << (8 * k) for k in range(64))
_MAJORITY = bytes(ord("1") if b >= 128 else ord("0") for b in range(256))


class SimHasher:
    """SimHash of a token list, with a bounded cache of per-token spread hashes."""

    def __init__(self, cache_size: int = 200_000) -> None:
        self._cache: dict[str, int] = {}
        self._cache_size = cache_size

    def _spread(self, token: str) -> int:
        value = self._cache.get(token)
        if value is None:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
            value = 0
            for j, byte in enumerate(digest):
                value |= _SPREAD[byte] << (64 * j)
            self._cache[token] = value
        return value

    def fingerprint(self, tokens: list[str]) -> int:
        unique = list(dict.fromkeys(tokens))[:_MAX_TOKENS]
        if not unique:
            return 0
        votes = 0
        spread = self._spread
        for token in unique:
            votes += spread(token)
        # Bit k is set when more than half the tokens set it: add (128 - threshold)
        # to every lane so the lane's top bit says "count >= threshold".
        votes += (128 - (len(unique) // 2 + 1)) * _LANE_ONES
        return int(votes.to_bytes(64, "little").translate(_MAJORITY), 2)


@dataclass(frozen=True, slots=True)
class NearDup:
    """What the near-duplicate stage adds to an event (``dup_cluster``, ``dup_count``, tag)."""

    dup_cluster: str
    dup_count: int
    spam_wave: bool
    wave_head: int = 0  # earlier, untagged copies this event turned into a wave


# cluster record (JSON list): [fingerprint, first_ts, last_ts, count, [[author, ts], ...]]
_FP, _FIRST, _LAST, _COUNT, _AUTHORS = range(5)


class NearDuplicateIndex:
    """Clusters near-identical texts per brand over a sliding event-time window.

    ``clusters`` maps ``"<brand>|<first event id>"`` → cluster record; ``buckets`` maps
    ``"<brand>|<band>|<band value>"`` → cluster key (the LSH index). A cluster lives
    while it keeps receiving members within ``window`` seconds; sweeping drops the
    others and their buckets, and ``max_clusters`` bounds memory.

    ``spam_wave`` is set on an event when its cluster holds at least
    ``wave_authors`` distinct accounts within the last ``wave_window`` seconds and
    the text is long enough (``wave_min_tokens``) not to be a stock phrase
    ("merci !"). Surge detection discounts those events.
    """

    def __init__(
        self,
        clusters: MutableMapping[str, list[Any]] | None = None,
        buckets: MutableMapping[str, str] | None = None,
        *,
        window: float = 3600.0,
        max_distance: int = 3,
        min_tokens_fuzzy: int = 6,
        wave_authors: int = 4,
        wave_window: float = 300.0,
        wave_min_tokens: int = 6,
        max_clusters: int = 500_000,
        sweep_every: float = 1800.0,
    ) -> None:
        self.clusters: MutableMapping[str, list[Any]] = {} if clusters is None else clusters
        self.buckets: MutableMapping[str, str] = {} if buckets is None else buckets
        self.max_distance = max_distance
        self.min_tokens_fuzzy = min_tokens_fuzzy
        self.wave_authors = wave_authors
        self.wave_window = wave_window
        self.wave_min_tokens = wave_min_tokens
        self.hasher = SimHasher()
        self.memory = ExpiringMemory(
            self.clusters, ttl=window, shift=0, stamp=lambda record: record[_LAST],
            sweep_every=sweep_every, max_entries=max_clusters, on_drop=self._forget_buckets)

    def _find(self, brand: str, fp: int, keys: list[str], fuzzy: bool) -> str | None:
        limit = self.max_distance if fuzzy else 0
        for key in keys:
            cluster_key = self.buckets.get(key)
            if cluster_key is None:
                continue
            record = self.clusters.get(cluster_key)
            if record is None or record[_LAST] < self.memory.horizon:
                continue
            if (record[_FP] ^ fp).bit_count() <= limit:
                return cluster_key
        return None

    def observe(
        self, brand: str | None, tokens: list[str], author: str, ts: float, event_id: str
    ) -> NearDup:
        """Assign the event to its cluster (creating one if none is near) and tag waves."""
        self.memory.advance(ts)
        fp = self.hasher.fingerprint(tokens)
        prefix = brand or ""
        keys = [
            f"{prefix}|{band}|{fp >> (band * _BAND_BITS) & 0xFFFF}" for band in range(_BANDS)
        ]
        cluster_key = self._find(prefix, fp, keys, len(tokens) >= self.min_tokens_fuzzy)
        others = 0  # other authors of the cluster within the wave window
        if cluster_key is None:
            cluster_key = f"{prefix}|{event_id}"
            record: list[Any] = [fp, ts, ts, 1, [[author, ts]]]
        else:
            record = self.clusters[cluster_key]
            record[_LAST] = max(record[_LAST], ts)
            record[_COUNT] += 1
            horizon = self.memory.watermark - self.wave_window
            authors = [p for p in record[_AUTHORS] if p[1] >= horizon and p[0] != author]
            others = len(authors)
            authors.append([author, ts])
            record[_AUTHORS] = authors[-(2 * self.wave_authors) :]
        self.clusters[cluster_key] = record
        for key in keys:
            self.buckets[key] = cluster_key
        wave = others + 1 >= self.wave_authors and len(tokens) >= self.wave_min_tokens
        # The event that makes the wave also claims the copies before it, untagged so far.
        head = others if wave and others + 1 == self.wave_authors else 0
        return NearDup(cluster_key.split("|", 1)[1], record[_COUNT], wave, head)

    def _forget_buckets(self, dropped: list[str]) -> None:
        """The LSH buckets of the clusters a sweep dropped."""
        stale = set(dropped)
        for key in [k for k, cluster in self.buckets.items() if cluster in stale]:
            del self.buckets[key]
