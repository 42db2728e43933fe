"""Priority from risks, intent, reach and platform, plus the routing tags.

critical: violence or a brewing crisis, or a negative voice with huge reach;
high: abuse and scams to hide, exposed personal data, buyers waiting (half give
up without a fast answer), complaints with large reach; low: spam and idle chatter.
Reach is followers, doubled on networks where content spreads virally.
"""

from __future__ import annotations

from schemas.events import Intent, Kind, Platform, Priority, Risk, Sentiment

VIRAL_PLATFORMS = frozenset({Platform.X, Platform.TIKTOK, Platform.NEWS, Platform.YOUTUBE})
PUBLIC_KINDS = frozenset(
    {Kind.COMMENT, Kind.MENTION, Kind.POST, Kind.REPLY, Kind.REVIEW, Kind.ARTICLE}
)
CRITICAL_REACH = 50_000
HIGH_REACH = 5_000
_CRITICAL_RISKS = frozenset({Risk.THREAT, Risk.CRISIS_SIGNAL})
_MODERATED_RISKS = frozenset({Risk.HATE, Risk.SCAM})


def effective_reach(followers: int | None, platform: Platform) -> int:
    """Followers, doubled where one post can go viral."""
    reach = followers or 0
    return reach * 2 if platform in VIRAL_PLATFORMS else reach


def assign_priority(
    risks: set[Risk],
    intent: Intent,
    sentiment: Sentiment,
    reach: int,
    kind: Kind,
) -> tuple[Priority, str]:
    """The priority and the first rule that set it."""
    if not _CRITICAL_RISKS.isdisjoint(risks):
        return Priority.CRITICAL, "rule:threat or crisis signal"
    negative = sentiment is Sentiment.NEGATIVE
    if negative and reach >= CRITICAL_REACH:
        return Priority.CRITICAL, f"rule:negative with reach {reach}>={CRITICAL_REACH}"
    if not _MODERATED_RISKS.isdisjoint(risks):
        return Priority.HIGH, "rule:hate or scam to moderate"
    if Risk.PERSONAL_DATA in risks and kind in PUBLIC_KINDS:
        return Priority.HIGH, "rule:personal data exposed in public"
    if intent is Intent.PURCHASE_INTENT:
        return Priority.HIGH, "rule:purchase intent waiting for an answer"
    if intent is Intent.COMPLAINT and reach >= HIGH_REACH:
        return Priority.HIGH, f"rule:complaint with reach {reach}>={HIGH_REACH}"
    if Risk.SPAM in risks:
        return Priority.LOW, "rule:spam"
    if intent is Intent.OTHER and not risks and not negative:
        return Priority.LOW, "rule:no intent, no risk"
    return Priority.NORMAL, "rule:default"
