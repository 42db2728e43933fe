"""The dedup table's compact store behaves as a dict of digest → int, in less memory."""

from __future__ import annotations

import random
import sys

import pytest

from core.dedupe import ExactDeduper, digest
from streams.digests import DigestMap


def test_matches_a_dict_through_inserts_updates_deletes_and_rebuilds() -> None:
    rnd = random.Random(7)
    ids = [digest(f"x:{i}") for i in range(5_000)]
    compact, reference = DigestMap(), {}
    for _ in range(60_000):
        key, roll = rnd.choice(ids), rnd.random()
        if roll < 0.55:
            value = rnd.randrange(1 << 63)
            compact[key] = reference[key] = value
        elif roll < 0.8:
            assert compact.get(key) == reference.get(key)
        elif key in reference:
            del compact[key], reference[key]
        else:
            with pytest.raises(KeyError):
                del compact[key]
    assert len(compact) == len(reference)
    assert dict(compact.items()) == reference
    assert set(compact) == set(reference)


def test_an_entry_takes_a_fraction_of_a_dict_entry() -> None:
    ids = [digest(f"x:{1_800_000_000_000_000_000 + i * 7919}") for i in range(200_000)]
    compact, reference = DigestMap(), {}
    for i, key in enumerate(ids):
        compact[key] = reference[f"x:{i:019d}"] = (1_790_000_000 + i) << 31
    arrays = sum(sys.getsizeof(a) for a in (
        compact._high, compact._low, compact._values, compact._partitions))
    in_dict = sys.getsizeof(reference) + sum(
        sys.getsizeof(k) + sys.getsizeof(v) for k, v in reference.items())
    assert arrays / len(ids) <= 75  # 26 bytes a slot, at least 35 % of the slots used
    assert arrays <= in_dict / 2


def test_refuses_what_it_cannot_hold() -> None:
    compact = DigestMap()
    assert compact.get("x:1") is None  # not a digest: never stored, so absent
    with pytest.raises(KeyError):
        compact["x:1"] = 5
    with pytest.raises(ValueError, match="out of range"):
        compact[digest("x:1")] = -1
    assert len(compact) == 0


def test_restores_changelog_records_in_order_and_skips_an_earlier_format() -> None:
    compact = DigestMap()
    skipped = compact.restore([
        (digest("x:1"), 10, 0), (digest("x:2"), 20, 3), (digest("x:1"), None, 0),  # deleted
        ("x:3", [1_000.0, "raw.x/1/7"], 1),  # written by a version keyed by plain ids
        (digest("x:4"), [1_000.0, "raw.x/1/8"], 1),
        (digest("x:1"), 11, 2),
    ])
    assert skipped == 2
    assert dict(compact.items()) == {digest("x:1"): 11, digest("x:2"): 20}
    assert [compact.remove(digest(f"x:{i}")) for i in (1, 2)] == [2, 3]


def test_each_entry_keeps_its_partition_through_rebuilds() -> None:
    compact = DigestMap()
    for i in range(5_000):  # several rebuilds
        compact.put(digest(f"x:{i}"), i, i % 7)
    compact[digest("x:1")] = 5  # through the mapping interface: partition 0
    assert [compact.remove(digest(f"x:{i}")) for i in range(5_000)] == [
        0 if i == 1 else i % 7 for i in range(5_000)]
    assert len(compact) == 0


def test_the_ttl_sweep_finds_the_same_expired_ids_as_over_a_dict() -> None:
    compact, reference = DigestMap(), {}
    for seen in (compact, reference):
        deduper = ExactDeduper(seen, ttl=100.0, sweep_every=10.0)
        for i in range(2_000):
            deduper.is_duplicate(f"x:{i}", i * 0.5 + 0.25, f"raw.x/0/{i}")
    assert 200 <= len(reference) <= 230  # the last TTL's worth, plus at most one sweep's
    assert dict(compact.items()) == reference


def test_the_cap_keeps_the_newest_ids_at_any_rate() -> None:
    """Within the TTL, but more ids than the cap: the oldest go (event time counts in
    whole seconds), down to 90 % of the cap, as over a dict."""
    def second(i: int) -> int:
        return int(1_000 + i * 0.01)

    for seen in (DigestMap(), {}):
        deduper = ExactDeduper(seen, ttl=3600.0, max_entries=1_000)
        for i in range(5_000):
            deduper.is_duplicate(f"x:{i}", 1_000.0 + i * 0.01, f"raw.x/0/{i}")
            assert len(seen) <= 1_000
        kept = {i for i in range(5_000) if digest(f"x:{i}") in seen}
        assert len(kept) >= 900
        assert max(second(i) for i in set(range(5_000)) - kept) <= min(map(second, kept))


def test_a_quantile_of_millions_of_values_is_estimated_from_a_sample() -> None:
    compact = DigestMap()
    values = random.Random(7).sample(range(10_000_000), 300_000)
    for i, value in enumerate(values):
        compact[digest(f"x:{i}")] = value
    ordered = sorted(values)
    for fraction in (0.1, 0.5, 0.9):
        estimate = compact.value_at(fraction)
        rank = sum(1 for v in values if v < estimate) / len(values)
        assert abs(rank - fraction) < 0.02, (fraction, rank)
    assert compact.value_at(0.0) >= ordered[0]
