"""Gating regexes by anchor words: never hides a match, and keeps most cues idle."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streams.classify.anchors import Anchor, Gate, anchors
from streams.classify.risks import BANKS
from streams.classify.text import prepare

EVAL_SET = Path(__file__).resolve().parents[1] / "data" / "classify_eval.jsonl"
CUES = [cue for bank in BANKS for cue in bank.cues]
GATE = Gate((cue, cue.pattern.pattern) for cue in CUES)


def eval_texts() -> list[str]:
    lines = EVAL_SET.read_bytes().splitlines()
    return [orjson.loads(line)["text"] for line in lines if line.strip()]


def test_every_cue_that_matches_an_eval_text_is_a_candidate_for_it() -> None:
    for text in eval_texts():
        p = prepare(text)
        candidates = GATE.candidates(p.words, p.folded)
        for cue in CUES:
            if cue.pattern.search(p.folded):
                assert cue in candidates, (cue.name, text)


def test_every_risk_cue_has_anchors_so_none_runs_on_every_text() -> None:
    assert GATE.always == frozenset()


def test_most_cues_stay_idle_on_an_ordinary_message() -> None:
    p = prepare("Bonjour, ma commande n'est toujours pas arrivée, pouvez-vous m'aider ?")
    assert len(GATE.candidates(p.words, p.folded)) <= 2


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
    gate = Gate([("digits", r"\d{2,}")])
    assert gate.candidates(set(), "") == {"digits"}


def test_a_word_anchor_does_not_fire_on_a_longer_word() -> None:
    assert Anchor("sale", word=True) in (anchors(r"\bsale (?:con|pd)\b") or set())
    gate = Gate([("insult", r"\bsale (?:con|pd)\b")])
    assert gate.candidates({"salement"}, "salement") == set()
    assert gate.candidates({"sale", "con"}, "sale con") == {"insult"}
