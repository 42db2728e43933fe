"""Exact and near-duplicate dedup: pure logic, state in plain mappings."""

from __future__ import annotations

import sys

from core.dedupe import ExactDeduper, NearDuplicateIndex, SimHasher, digest, tokenize

COPY = "ATTENTION Maison Lumen est une ARNAQUE ils encaissent et ne livrent jamais partagez"


def test_a_redelivered_event_is_dropped_and_counted() -> None:
    dedupe = ExactDeduper()
    assert not dedupe.is_duplicate("x:1", 100.0)
    assert dedupe.is_duplicate("x:1", 105.0)
    assert not dedupe.is_duplicate("x:2", 106.0)
    assert dedupe.duplicates == 1


def test_an_id_seen_longer_ago_than_the_ttl_is_new_again_and_swept() -> None:
    seen: dict[str, float] = {}
    dedupe = ExactDeduper(seen, ttl=3600.0, sweep_every=60.0)
    dedupe.is_duplicate("x:1", 0.0)
    dedupe.is_duplicate("x:2", 4000.0)  # sweeps x:1 out
    assert digest("x:1") not in seen
    assert not dedupe.is_duplicate("x:1", 4001.0)


def test_memory_is_capped_even_when_event_time_stalls() -> None:
    seen: dict[str, float] = {}
    dedupe = ExactDeduper(seen, max_entries=100, sweep_every=1.0)
    for i in range(1000):
        dedupe.is_duplicate(f"x:{i}", float(i))
    assert len(seen) <= 110


def test_the_deduper_resumes_from_its_injected_state() -> None:
    seen: dict[str, float] = {}
    ExactDeduper(seen).is_duplicate("x:1", 10.0)
    assert ExactDeduper(seen).is_duplicate("x:1", 20.0)


def test_simhash_is_stable_and_close_for_near_copies() -> None:
    hasher = SimHasher()
    a = hasher.fingerprint(tokenize(COPY))
    b = hasher.fingerprint(tokenize(COPY + " https://bit.ly/x @victime12 🚨"))
    c = hasher.fingerprint(tokenize("Merci pour la livraison rapide, lampe superbe"))
    assert a == SimHasher().fingerprint(tokenize(COPY))
    assert (a ^ b).bit_count() <= 3
    assert (a ^ c).bit_count() > 10


def test_a_copypasta_from_many_accounts_is_a_spam_wave_with_one_cluster() -> None:
    index = NearDuplicateIndex()
    results = [
        index.observe("maison_lumen", tokenize(f"{COPY} https://t.co/{i}"), f"bot{i}", 10.0 * i,
                      f"x:{i}")
        for i in range(12)
    ]
    assert {r.dup_cluster for r in results} == {"x:0"}
    assert [r.dup_count for r in results] == list(range(1, 13))
    assert not results[0].spam_wave
    assert results[-1].spam_wave


def test_the_copy_that_makes_a_wave_claims_the_untagged_copies_before_it() -> None:
    index = NearDuplicateIndex()
    results = [
        index.observe("maison_lumen", tokenize(f"{COPY} https://t.co/{i}"), f"bot{i}", 10.0 * i,
                      f"x:{i}")
        for i in range(8)
    ]
    assert [r.spam_wave for r in results] == [False] * 3 + [True] * 5
    assert [r.wave_head for r in results] == [0, 0, 0, 3, 0, 0, 0, 0]


def test_one_account_repeating_itself_is_not_a_wave() -> None:
    index = NearDuplicateIndex()
    results = [index.observe("b", tokenize(COPY), "same", 10.0 * i, f"x:{i}") for i in range(20)]
    assert not any(r.spam_wave for r in results)


def test_different_brands_and_different_texts_do_not_share_clusters() -> None:
    index = NearDuplicateIndex()
    first = index.observe("a", tokenize(COPY), "u1", 0.0, "x:1")
    other_brand = index.observe("b", tokenize(COPY), "u2", 1.0, "x:2")
    other_text = index.observe("a", tokenize("Vol annulé à Nice, honte à vous"), "u3", 2.0, "x:3")
    assert len({first.dup_cluster, other_brand.dup_cluster, other_text.dup_cluster}) == 3


def test_idle_clusters_expire_and_their_buckets_go_with_them() -> None:
    clusters: dict[str, list[object]] = {}
    buckets: dict[str, str] = {}
    index = NearDuplicateIndex(clusters, buckets, window=600.0, sweep_every=60.0)
    index.observe("a", tokenize(COPY), "u1", 0.0, "x:1")
    index.observe("a", tokenize("autre chose entièrement"), "u2", 5000.0, "x:2")
    assert list(clusters) == ["a|x:2"]
    assert set(buckets.values()) == {"a|x:2"}


def test_the_same_record_read_again_after_a_crash_is_not_a_duplicate() -> None:
    """The memory is saved before offsets are committed: the re-read record is new work."""
    deduper = ExactDeduper()
    assert not deduper.is_duplicate("x:1", 100.0, "raw.x/0/41")
    assert not deduper.is_duplicate("x:1", 100.0, "raw.x/0/41")
    assert deduper.is_duplicate("x:1", 100.0, "raw.x/0/57")  # a webhook retry: new record
    assert deduper.duplicates == 1


def test_a_forwarded_id_costs_one_small_int_under_its_digest() -> None:
    """Ids live in the worker by the million: each is kept as a fixed-size digest with
    one int (event time and the carrying record), not the id and ``[ts, source]``."""
    seen: dict[str, object] = {}
    deduper = ExactDeduper(seen, ttl=3600.0)
    assert not deduper.is_duplicate("x:1", 1_000.75, "raw.x/0/41")
    assert list(seen) == [digest("x:1")]
    assert len(digest("x:1")) == 32
    assert type(seen[digest("x:1")]) is int
    assert sys.getsizeof(seen[digest("x:1")]) <= 36
    assert deduper.is_duplicate("x:1", 1_001.0, "raw.x/0/42")
    assert not deduper.is_duplicate("x:1", 1_001.0, "raw.x/0/41")  # the same record re-read
    deduper.is_duplicate("x:2", 1_000.0 + 3600.5, "raw.x/0/99")  # x:1 expires (whole seconds)
    assert not deduper.is_duplicate("x:1", 4_601.0, "raw.x/0/100")
