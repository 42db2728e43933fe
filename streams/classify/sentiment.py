"""Lexicon sentiment with negation, intensifiers, emojis, ALL CAPS and sarcasm.

Score = sum of valences; a negator flips the next opinion words (three-token
window), an intensifier or a shouted word multiplies them by 1.5. Sarcasm
(praise words next to the facts of a bad experience or to an eye-roll emoji)
discards the praise: "Bravo, 6 h de retard 👏" is negative.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from schemas.events import Sentiment
from streams.classify.anchors import Anchored
from streams.classify.lexicons import (
    COURTESY,
    EMOJI,
    GRIEVANCE_FACTS,
    GRIEVANCES,
    INTENSIFIERS,
    NEGATION_BREAKERS,
    NEGATORS,
    PHRASES,
    SARCASM_EMOJI,
    SARCASM_PRAISE,
    VALENCE,
)
from streams.classify.text import Prepared, fold, tokenize

THRESHOLD = 0.5
_NEGATION_WINDOW = 3
_PHRASE = Anchored(
    r"(?<![a-z0-9])(?:"
    + "|".join(re.escape(p) for p in sorted(PHRASES, key=len, reverse=True))
    + r")\b"
)
_EMOJI_MARKS = "".join(EMOJI) + SARCASM_EMOJI
_EMOJI = re.compile(f"[{_EMOJI_MARKS}]")
# A text whose characters all sort below it holds no emoji; ``isascii`` (C, no
# per-character objects) settles a third of texts before ``max`` has to look.
_FIRST_EMOJI = min(_EMOJI_MARKS)
_EXASPERATED = re.compile(r"\?{2,}|\?!|!\?|!{3,}")
_GRIEVANCE = Anchored("(?<![a-z0-9])(?:" + "|".join(GRIEVANCES) + ")")
_GRIEVANCE_WEIGHT = -1.5
_MID_SENTENCE_NAME = re.compile(r"(?<=[^\s.!?…] )[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+\b")
# Every word the token loop reacts to; the others (most of a text) are skipped at once.
_LEXICON = NEGATORS | NEGATION_BREAKERS | INTENSIFIERS | GRIEVANCE_FACTS | VALENCE.keys()


class SentimentResult(NamedTuple):
    """The label, its score and the evidence behind it (a tuple: cheap to build)."""

    label: Sentiment
    score: float
    evidence: list[str]
    sarcasm: bool
    negated: bool


def score_sentiment(p: Prepared, lang: str | None = None) -> SentimentResult:
    """Score one prepared text of language ``lang``; pure and allocation-light."""
    evidence: list[str] = []
    positive = negative = 0.0
    tokens = p.tokens
    if _PHRASE.possible(p.words, p.folded) and (phrases := _PHRASE.regex.findall(p.folded)):
        for phrase in phrases:
            weight = PHRASES[phrase]
            positive += max(weight, 0.0)
            negative += min(weight, 0.0)
            evidence.append(f"phrase:{phrase}({weight:+.1f})")
        tokens = tokenize(_PHRASE.regex.sub(" ", p.folded))

    if grievance := _GRIEVANCE.search(p.words, p.folded):
        negative += _GRIEVANCE_WEIGHT
        evidence.append(f"grievance:{grievance.group()!r}({_GRIEVANCE_WEIGHT:+.1f})")

    # Courtesy in a request ("…? thx") is politeness, not praise.
    courtesy_counts = "?" not in p.raw
    negate_until = boost_until = -1
    negated = False
    praised_at = -1  # index of the first praise word that sarcasm could turn around
    facts = False
    names: frozenset[str] | None = None  # read on the first opinion word of a French text
    for i, token in enumerate(tokens):
        if token not in _LEXICON:
            continue
        if token in NEGATORS:
            negate_until = i + _NEGATION_WINDOW
            continue
        if token in NEGATION_BREAKERS:
            negate_until = -1
        valence = VALENCE.get(token)
        if valence is None:
            if token in INTENSIFIERS:
                boost_until = i + 2
            facts = facts or (praised_at >= 0 and token in GRIEVANCE_FACTS)
            continue
        facts = facts or (praised_at >= 0 and token in GRIEVANCE_FACTS)
        weight = valence
        if not courtesy_counts and token in COURTESY:
            continue
        if lang == "fr":
            names = _names(p.raw) if names is None else names
            if token in names:
                evidence.append(f"name:{token}(no opinion)")
                continue
        if i <= boost_until:
            weight *= 1.5
        if token in p.shouted:
            weight *= 1.5
        if i <= negate_until:
            weight *= -0.75
            negated = True
        elif weight > 0 and token in SARCASM_PRAISE and praised_at < 0:
            praised_at = i
        if weight > 0:
            positive += weight
        else:
            negative += weight
        evidence.append(f"lexicon:{'not ' if i <= negate_until else ''}{token}({weight:+.1f})")

    irony = False
    emoji = not p.raw.isascii() and max(p.raw) >= _FIRST_EMOJI
    for mark in _EMOJI.findall(p.raw) if emoji else ():
        weight = EMOJI.get(mark, 0.0)
        # An eye-roll is ironic on its own; applause only next to bad facts.
        irony = irony or (mark in SARCASM_EMOJI and (mark != "👏" or _has_fact(tokens)))
        if weight:
            positive += max(weight, 0.0)
            negative += min(weight, 0.0)
            evidence.append(f"emoji:{mark}({weight:+.1f})")
    if ("?" in p.raw or "!" in p.raw) and _EXASPERATED.search(p.raw):
        negative -= 0.75
        evidence.append("punctuation:exasperated(-0.75)")

    sarcasm = praised_at >= 0 and (facts or irony)
    if sarcasm:
        evidence.append(f"rule:sarcasm (praise {positive:+.1f} discarded)")
        positive = 0.0
        negative -= 1.0
    score = positive + negative
    if p.all_caps:
        score = score * 1.5 if score else -0.5
        evidence.append("rule:all_caps(x1.5)")
    if score >= THRESHOLD:
        label = Sentiment.POSITIVE
    elif score <= -THRESHOLD:
        label = Sentiment.NEGATIVE
    else:
        label = Sentiment.NEUTRAL
    evidence.append(f"score={score:+.2f}")
    return SentimentResult(label, score, evidence, sarcasm, negated)


def _names(raw: str) -> frozenset[str]:
    """Folded words capitalised mid-sentence: in French those are names ("vols annulés
    à Nice" is about the city), never opinion words ("nice", "super")."""
    return frozenset(fold(name) for name in _MID_SENTENCE_NAME.findall(raw))


def _has_fact(tokens: tuple[str, ...]) -> bool:
    return not GRIEVANCE_FACTS.isdisjoint(tokens)
