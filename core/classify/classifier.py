"""The classifier: a learned model for opinions and risks, exact rules where they exist.

One batch at a time: language (function words, then py3langid), personal data
(validators: IBAN mod-97, Luhn, libphonenumber, keyword-introduced references),
the exact cues, then the learned model scores every message of the batch in one
pass. Sentiment and intent are the model's most probable classes; a risk is on
when its probability reaches the threshold chosen on writers the model did not
train on, and ``personal_data`` also whenever a validator found a span (the masking
relies on those spans, whatever the labels). Priority and routing tags follow.
Every label carries its evidence in ``reasons``: the model's probability and the
words and cues that weighed most, or the rule that fired.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from core.classify.anchors import Anchored
from core.classify.cues import cue_columns
from core.classify.lang import detect_language
from core.classify.model import (
    INTENT_COLUMNS,
    INTENTS,
    RISK_COLUMNS,
    RISKS,
    SENTIMENT_COLUMNS,
    SENTIMENTS,
    LabelModel,
    Term,
    shipped_model,
)
from core.classify.pii import PiiSpan, find_personal_data
from core.classify.priority import assign_priority, effective_reach
from core.classify.text import prepare
from schemas.events import Classification, Risk, SocialEvent, assemble

_LEGAL = Anchored(
    r"\b(?:porter plainte|plainte|avocat|mediateur|tribunal|lawyer|court|sue|lawsuit"
    r"|abogado|denuncia|anwalt|klage)\b"
)
_CHURN = Anchored(
    r"\b(?:resilie\w*|je pars chez|la concurrence|jamais plus|never again|nie wieder"
    r"|cancel my|switching to|closing my account|je change de)\b"
)
_INFLUENCER_REACH = 10_000
_MODERATE = frozenset({Risk.HATE, Risk.SCAM, Risk.SPAM})


_WORD = re.compile(r"\w+")


@lru_cache(maxsize=1 << 16)  # the same words come back, message after message
def _digit_or_at(word: str) -> bool:
    return any(c.isdigit() or c == "@" for c in word)


def _quotable(text: str, spans: list[PiiSpan]) -> Callable[[str], bool]:
    """Whether a word may be quoted in the reasons, which travel with tasks and events:
    never one holding a digit or an ``@``, nor one of the personal data found (the name
    of an e-mail address)."""
    if not spans:
        return lambda word: not _digit_or_at(word)
    private = {w.lower() for s in spans for w in _WORD.findall(text[s.start:s.end])}
    return lambda word: not _digit_or_at(word) and \
        private.isdisjoint(_WORD.findall(word.lower()))


def _evidence(probability: float, terms: tuple[list[Term], list[Term]],
              quotable: Callable[[str], bool]) -> list[str]:
    words, cues = terms
    return [f"model p={probability:.2f}",
            *(f"word:{word!r} {weight:+.2f}" for word, weight in words if quotable(word)),
            *(f"cue:{cue} {weight:+.2f}" for cue, weight in cues)]


class ModelClassifier:
    """Implements :class:`core.classify.Classifier`; stateless, safe to share."""

    def __init__(self, model: LabelModel | None = None) -> None:
        self.model = model or shipped_model()

    def classify(self, event: SocialEvent) -> Classification:
        """Classify one event (a batch of one); pure, never touches the network."""
        return self.classify_batch([event])[0]

    def classify_batch(self, events: Sequence[SocialEvent]) -> list[Classification]:
        """Classify ``events`` together, in order: one model pass for the batch."""
        prepared = [prepare(event.text) for event in events]
        languages = [detect_language(e.text, p.tokens, e.lang)
                     for e, p in zip(events, prepared, strict=True)]
        spans = [find_personal_data(e.text, folded=p.folded, words=p.words, lang=lang)
                 for e, p, (lang, _) in zip(events, prepared, languages, strict=True)]
        cues = [cue_columns(e.text, e.platform, e.kind, bool(found))
                for e, found in zip(events, spans, strict=True)]
        scores = self.model.score([e.text for e in events], cues)
        probabilities = scores.probabilities
        sentiment_of = probabilities[:, SENTIMENT_COLUMNS].argmax(axis=1)
        intent_of = probabilities[:, INTENT_COLUMNS].argmax(axis=1) + INTENT_COLUMNS.start
        flagged_message, flagged_risk = np.nonzero(
            probabilities[:, RISK_COLUMNS] >= self.model.thresholds)
        # One explanation pass: every message's sentiment and intent, then each risk on.
        everyone = np.arange(len(events))
        explained = self.model.explain(
            scores, np.concatenate([everyone, everyone, flagged_message]),
            np.concatenate([sentiment_of, intent_of, flagged_risk + RISK_COLUMNS.start]))
        quotable = [_quotable(e.text, found) for e, found in zip(events, spans, strict=True)]
        risk_reasons: list[dict[Risk, list[str]]] = [{} for _ in events]
        for k, (message, j) in enumerate(zip(flagged_message.tolist(), flagged_risk.tolist(),
                                             strict=True)):
            risk_reasons[message][RISKS[j]] = _evidence(
                float(probabilities[message, RISK_COLUMNS.start + j]),
                explained[2 * len(events) + k], quotable[message])
        chosen = probabilities[everyone, sentiment_of].tolist()
        chosen_intent = probabilities[everyone, intent_of].tolist()
        results = []
        for i, event in enumerate(events):
            lang, lang_reason = languages[i]
            sentiment = SENTIMENTS[sentiment_of[i]]
            intent = INTENTS[intent_of[i] - INTENT_COLUMNS.start]
            reasons: dict[str, list[str]] = {
                "lang": [lang_reason],
                "sentiment": _evidence(chosen[i], explained[i], quotable[i]),
                "intent": _evidence(chosen_intent[i], explained[len(events) + i], quotable[i]),
            }
            risks = set(risk_reasons[i])
            reasons.update((risk.value, evidence) for risk, evidence in risk_reasons[i].items())
            if spans[i]:
                risks.add(Risk.PERSONAL_DATA)
                reasons.setdefault(Risk.PERSONAL_DATA.value, []).extend(
                    f"validator:{s.kind.value}@{s.start}-{s.end}" for s in spans[i])
            reach = effective_reach(event.author.followers, event.platform)
            priority, priority_reason = assign_priority(
                risks, intent, sentiment, reach, event.kind)
            reasons["priority"] = [priority_reason, f"reach={reach}"]
            results.append(assemble(Classification, {
                "lang": lang, "sentiment": sentiment, "intent": intent,
                "risks": sorted(risks), "priority": priority,
                "tags": _tags(prepared[i].all_caps, spans[i], prepared[i].words,
                              prepared[i].folded, reach, risks),
                "reasons": {key: reasons[key] for key in sorted(reasons)},
            }))
        return results


def _tags(all_caps: bool, spans: list[PiiSpan], words: frozenset[str], folded: str,
          reach: int, risks: set[Risk]) -> list[str]:
    """Routing tags: a private reply for personal data, legal and churn cues, reach."""
    tags: list[str] = []
    if all_caps:
        tags.append("all_caps")
    if spans:
        tags.append("private_reply")
        tags.extend(sorted({f"pii:{s.kind.value}" for s in spans}))
    if _LEGAL.search(words, folded):
        tags.append("legal")
    if _CHURN.search(words, folded):
        tags.append("churn_risk")
    if reach >= _INFLUENCER_REACH:
        tags.append("high_reach")
    if not _MODERATE.isdisjoint(risks):
        tags.append("moderate")
    return tags
