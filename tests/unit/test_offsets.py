"""The offset tracker never lets a commit pass a record that was not admitted."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.offsets import RESEEK_AFTER_S, OffsetTracker

A, B = ("raw.x", 0), ("raw.x", 1)


def tracker(**starts: int) -> OffsetTracker:
    t = OffsetTracker()
    t.start({A: starts.get("a", 0), B: starts.get("b", 0)})
    return t


def test_contiguous_records_are_kept_and_commit_their_end() -> None:
    t = tracker(a=10)
    admission = t.admit([(A, 10), (A, 11), (B, 0), (A, 12)])
    assert admission.kept == [0, 1, 2, 3]
    assert admission.holes == {}
    assert t.committable(admission) == {A: 13, B: 1}


def test_a_skipped_record_is_a_hole_and_nothing_after_it_is_kept() -> None:
    t = tracker(a=631)
    admission = t.admit([(B, 0), (A, 653), (A, 654), (B, 1)])
    assert admission.kept == [0, 3]
    assert admission.holes == {A: 631}
    assert t.committable(admission) == {B: 2}  # A commits nothing
    again = t.admit([(A, 631), (A, 632)])  # after the seek back
    assert again.kept == [0, 1]
    assert t.committable(again) == {A: 633}


def test_re_read_records_behind_stale_ones_in_the_same_batch_close_the_hole() -> None:
    t = tracker(a=447)
    assert t.admit([(A, 900)]).holes == {A: 447}  # sought back to 447
    # The stream still held records fetched before the seek; the re-read ones follow.
    admission = t.admit([(A, 901), (A, 902), (A, 447), (A, 448), (A, 903)])
    assert admission.kept == [2, 3]
    assert admission.holes == {A: 449}, "the records up to 903 are still missing"
    assert t.committable(admission) == {A: 449}
    closed = t.admit([(A, 449), (A, 450), (A, 449)])
    assert closed.kept == [0, 1, 2]
    assert closed.holes == {}


def test_redeliveries_are_kept_without_moving_the_position() -> None:
    t = tracker(a=5)
    t.admit([(A, 5), (A, 6)])
    admission = t.admit([(A, 3), (A, 4), (A, 7)])
    assert admission.kept == [0, 1, 2]
    assert t.committable(admission) == {A: 8}


def test_a_revocation_voids_earlier_admissions_and_forgets_positions() -> None:
    t = tracker(a=0)
    before = t.admit([(A, 0)])
    t.reset()
    assert t.committable(before) == {}
    assert t.unknown([A, B]) == {A, B}


def test_a_hole_is_sought_once_then_again_only_if_still_open_later() -> None:
    t = tracker()
    assert t.should_seek(A, 7, now=100.0)
    assert not t.should_seek(A, 7, now=100.5)
    assert t.should_seek(A, 7, now=100.0 + RESEEK_AFTER_S)
    assert t.should_seek(A, 9, now=100.0 + RESEEK_AFTER_S)  # another hole: at once


def test_a_hole_left_open_with_nothing_newer_arriving_is_found_stalled() -> None:
    t = tracker(a=631)
    holes = t.admit([(A, 653)]).holes
    assert t.should_seek(A, holes[A], now=100.0)
    assert t.stalled(now=100.0 + RESEEK_AFTER_S / 2) == {}
    assert t.stalled(now=100.0 + RESEEK_AFTER_S) == {A: 631}  # the re-read never came
    t.admit([(A, 631)])
    assert t.stalled(now=200.0) == {}, "a hole is closed by its missing record"


@given(st.lists(st.integers(min_value=0, max_value=40), max_size=60), st.integers(0, 5))
def test_commits_never_pass_an_offset_that_was_not_kept(offsets: list[int], start: int) -> None:
    t = tracker(a=start)
    kept: set[int] = set(range(start))  # below the start: stored before
    for size in (7, 5, 11):
        batch, offsets = offsets[:size], offsets[size:]
        admission = t.admit([(A, o) for o in batch])
        kept |= {batch[i] for i in admission.kept}
        position = t.committable(admission).get(A, start)
        assert set(range(position)) <= kept
