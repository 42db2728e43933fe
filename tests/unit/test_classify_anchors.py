"""Gating regexes by anchor words: a pattern runs only on texts that can hold a match."""

from __future__ import annotations

import pytest

from core.classify.anchors import Anchor, Anchored, anchors


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\b(?:connard|salope)s?\b", {"connard", "connards", "salope", "salopes"}),
        (r"\bsale (?:con|pd)\b", {"sale"}),
        (r"\w*leak", {"leak"}),
        (r"\b[a-z0-9\-]+\.(?:shop|biz)\b", {"shop", "biz"}),
    ],
)
def test_anchors_are_words_every_match_must_hold(pattern: str, expected: set[str]) -> None:
    found = anchors(pattern)
    assert found is not None
    assert {a.text for a in found} == expected


def test_a_pattern_with_no_literal_has_no_anchor_and_always_runs() -> None:
    assert anchors(r"\d{2,}") is None
    assert Anchored(r"\d{2,}").possible(frozenset(), "")


def test_a_word_anchor_does_not_fire_on_a_longer_word() -> None:
    assert Anchor("sale", word=True) in (anchors(r"\bsale (?:con|pd)\b") or set())
    insult = Anchored(r"\bsale (?:con|pd)\b")
    assert not insult.possible(frozenset({"salement"}), "salement")
    assert insult.search(frozenset({"sale", "con"}), "sale con") is not None
