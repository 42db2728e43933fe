"""The default classifier: lexicons, validators and rules, offline and fast.

One call prepares the text once and runs the stages in dependency order:
language → risks (personal data, cue banks) → sentiment → intent → priority.
Every label gets its evidence in ``reasons`` so the ops team sees why.
"""

from __future__ import annotations

from schemas.events import Classification, Kind, Risk, Sentiment, SocialEvent, assemble
from streams.classify.anchors import Anchored
from streams.classify.intent import detect_intent
from streams.classify.lang import detect_language
from streams.classify.pii import find_personal_data
from streams.classify.priority import assign_priority, effective_reach
from streams.classify.risks import detect_risks
from streams.classify.sentiment import score_sentiment
from streams.classify.text import prepare

_LEGAL = Anchored(
    r"\b(?:porter plainte|plainte|avocat|mediateur|tribunal|lawyer|court|sue|lawsuit"
    r"|abogado|denuncia|anwalt|klage)\b"
)
_CHURN = Anchored(
    r"\b(?:resilie\w*|je pars chez|la concurrence|jamais plus|never again|nie wieder"
    r"|cancel my|switching to|closing my account|je change de)\b"
)
_INFLUENCER_REACH = 10_000
_OPINION_RISKS = frozenset({Risk.HATE, Risk.THREAT})
_MODERATION_RISKS = frozenset({Risk.SCAM, Risk.SPAM})
_MODERATE = frozenset({Risk.HATE, Risk.SCAM, Risk.SPAM})


class RuleClassifier:
    """Implements :class:`streams.classify.Classifier`; stateless, safe to share."""

    def classify(self, event: SocialEvent) -> Classification:
        """Classify one event; pure, never touches the network."""
        p = prepare(event.text)
        lang, lang_reason = detect_language(event.text, p.tokens, event.lang)
        reasons: dict[str, list[str]] = {"lang": [lang_reason]}
        tags: list[str] = []

        found = detect_risks(p.folded, p.words)
        spans = find_personal_data(event.text, folded=p.folded, words=p.words, lang=lang)
        if spans:
            found[Risk.PERSONAL_DATA] = [
                f"validator:{s.kind.value}@{s.start}-{s.end}" for s in spans
            ]
        if Risk.SCAM in found and Risk.SPAM in found:
            # A scam's links and promotions are its bait: one label, one action. Personal
            # data stays flagged: a victim's report carries theirs.
            found.pop(Risk.SPAM)
            found[Risk.SCAM].append("rule:spam subsumed by scam")
        risks = set(found)
        for risk in sorted(found):
            reasons[risk.value] = found[risk]

        result = score_sentiment(p, lang)
        sentiment = result.label
        sentiment_reasons = result.evidence
        if not _MODERATION_RISKS.isdisjoint(risks):
            sentiment = Sentiment.NEUTRAL
            sentiment_reasons.append("rule:scam/spam carries no opinion")
        elif not _OPINION_RISKS.isdisjoint(risks) or (
            Risk.CRISIS_SIGNAL in risks and event.kind is not Kind.ARTICLE
        ):
            sentiment = Sentiment.NEGATIVE
            sentiment_reasons.append("rule:abuse, violence or crisis is negative")
        reasons["sentiment"] = sentiment_reasons

        intent, intent_reason = detect_intent(event, p, sentiment, risks)
        reasons["intent"] = [intent_reason]

        reach = effective_reach(event.author.followers, event.platform)
        priority, priority_reason = assign_priority(risks, intent, sentiment, reach, event.kind)
        reasons["priority"] = [priority_reason, f"reach={reach}"]

        if result.sarcasm:
            tags.append("sarcasm")
        if result.negated:
            tags.append("negation")
        if p.all_caps:
            tags.append("all_caps")
        if spans:
            tags.append("private_reply")
            tags.extend(sorted({f"pii:{s.kind.value}" for s in spans}))
        if _LEGAL.search(p.words, p.folded):
            tags.append("legal")
        if _CHURN.search(p.words, p.folded):
            tags.append("churn_risk")
        if reach >= _INFLUENCER_REACH:
            tags.append("high_reach")
        if not _MODERATE.isdisjoint(risks):
            tags.append("moderate")
        return assemble(Classification, {
            "lang": lang, "sentiment": sentiment, "intent": intent, "risks": sorted(risks),
            "priority": priority, "tags": tags, "reasons": reasons,
        })
