"""Primary intent: exactly one of complaint, question, praise, purchase_intent, other.

Decided in order: moderation risks (scam, spam) and abuse between users are
"other"; a negative message about one's own experience is a complaint even when
phrased as a question ("Pourquoi ma facture a doublé ???"); then buying signals,
questions, praise addressed to a brand, and everything else.
"""

from __future__ import annotations

import re

from schemas.events import Intent, Kind, Platform, Risk, Sentiment, SocialEvent
from streams.classify.anchors import Anchored
from streams.classify.text import Prepared

_PURCHASE = Anchored(
    r"\b(?:acheter|achete|j'achete|commander|je commande|je prends|reserver|souscrire"
    r"|m'abonner|je m'inscris|m'inscrire|devis|je (?:le|la|les) veux|interessee? par"
    r"|ouvrir un compte|buy|buying|purchase|to order|want to order|order the|need it"
    r"|sign up|subscribe|a quote|in stock|open an? (?:\w+ )?account|comprar|quiero comprar"
    r"|reservar|kaufen|bestellen|eroffnen|abonnieren)\b"
)
_QUESTION_START = re.compile(
    r"^(?:bonjour|hello|hi|hey|hola|hallo|salut)?\W*(?:est-ce|comment|pourquoi|quand|combien"
    r"|quel\w*|ou|peut-on|puis-je|how|what|when|where|why|which|is|are|do|does|can|could"
    r"|cual|como|cuando|donde|wie|was|wann|wo|warum|gibt es|kann)\b(?!')"
)
_FIRST_PERSON = Anchored(
    r"\b(?:je|j'|mon|ma|mes|moi|my|i|i'm|i've|me|mi|mis|yo|ich|mein|meine|mich|mir)\b"
)
_ADDRESSED = Anchored(
    r"\b(?:merci|thanks|thank you|bravo|vous|you|your|vos|votre|gracias|danke|felicitations"
    r"|congrats|shoutout)\b"
)
_DIRECT_KINDS = frozenset({Kind.DM, Kind.CHAT, Kind.MENTION, Kind.REVIEW})
# Comments on these platforms sit under the publisher's or venue's own page.
_HOSTED_PLATFORMS = frozenset(
    {Platform.WEB_COMMENTS, Platform.GOOGLE_REVIEWS, Platform.TRIPADVISOR}
)
_OWNED_KINDS = frozenset({Kind.COMMENT, Kind.REPLY})
_MODERATION_RISKS = frozenset({Risk.SCAM, Risk.SPAM})
_ABUSE_RISKS = frozenset({Risk.HATE, Risk.THREAT})


def _addressed_to_brand(event: SocialEvent) -> bool:
    """Reactive messages: written to the brand, or under its own content."""
    if event.direct or event.kind in _DIRECT_KINDS or event.platform in _HOSTED_PLATFORMS:
        return True
    return event.brand is not None and event.kind in _OWNED_KINDS


def detect_intent(
    event: SocialEvent, p: Prepared, sentiment: Sentiment, risks: set[Risk]
) -> tuple[Intent, str]:
    """The primary intent and the rule that chose it."""
    if not _MODERATION_RISKS.isdisjoint(risks):
        return Intent.OTHER, "rule:moderation risk, no customer intent"
    if not _ABUSE_RISKS.isdisjoint(risks) and event.brand is None:
        return Intent.OTHER, "rule:abuse between users, no brand"
    if event.kind is Kind.ARTICLE:
        return Intent.OTHER, "rule:press article"
    question = "?" in p.raw or "¿" in p.raw or _QUESTION_START.search(p.folded) is not None
    if sentiment is Sentiment.NEGATIVE:
        addressed = _addressed_to_brand(event)
        first_hand = _FIRST_PERSON.search(p.words, p.folded) is not None
        if Risk.CRISIS_SIGNAL in risks and not (addressed or first_hand):
            return Intent.OTHER, "rule:crisis relayed by a third party"
        if addressed or first_hand or event.brand is not None:
            why = "grievance phrased as a question" if question else "negative experience"
            return Intent.COMPLAINT, f"rule:{why}"
        return Intent.OTHER, "rule:negative but about no brand and not first-hand"
    if match := _PURCHASE.search(p.words, p.folded):
        return Intent.PURCHASE_INTENT, f"lexicon:buying signal {match.group()!r}"
    if question:
        return Intent.QUESTION, "rule:question mark or interrogative opening"
    if sentiment is Sentiment.POSITIVE:
        if (
            event.brand is not None
            or event.kind is Kind.REVIEW
            or _ADDRESSED.search(p.words, p.folded)
        ):
            return Intent.PRAISE, "rule:positive and about a brand or addressed"
        return Intent.OTHER, "rule:positive chatter, no brand"
    return Intent.OTHER, "rule:no intent signal"
