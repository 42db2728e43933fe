"""Route stage: which response task (if any) a classified event calls for.

Pure: channel rules from DESIGN.md's domain facts, SLA from settings. The task id is
derived from the event id alone, so a replay yields the same task id.
"""

from __future__ import annotations

import hashlib
import uuid

from base.settings import SlaSettings
from core.classify import mask_personal_data
from core.sla import due_by
from schemas.alerts import Alert, AlertKind, AlertStatus, Polarity, Severity
from schemas.events import (
    Classification,
    ClassifiedEvent,
    Intent,
    Kind,
    Platform,
    Priority,
    Risk,
    Sentiment,
    SocialEvent,
    assemble,
)
from schemas.tasks import (
    TASK_SCHEMA,
    Action,
    AlertSubject,
    Queue,
    ResponseLevel,
    ResponseTask,
)

TASK_NAMESPACE = uuid.UUID("6f1d4c8e-3a52-4c1b-9f0e-7a1d2b3c4d5e")
HOUR = 3600.0

# How long a brand may write privately after the person last wrote to it in private
# (None: for as long as the conversation exists). Absent platforms: never.
#  - Messenger / Instagram: the 24-hour standard messaging window;
#  - WhatsApp Business: the 24-hour customer-service window (else a paid template);
#  - X: an open conversation stays open; TikTok: when the person messaged first;
#  - Twitch: whispers; Telegram: a bot may write to users who started it.
#  LinkedIn pages cannot message members; YouTube closed private messages in 2019.
DM_WINDOW_S: dict[Platform, float | None] = {
    Platform.FACEBOOK: 24 * HOUR,
    Platform.MESSENGER: 24 * HOUR,
    Platform.INSTAGRAM: 24 * HOUR,
    Platform.WHATSAPP: 24 * HOUR,
    Platform.X: None,
    Platform.TIKTOK: 48 * HOUR,
    Platform.TWITCH: None,
    Platform.TELEGRAM: None,
}
# A comment on the brand's own Facebook or Instagram post may get one private reply.
_PRIVATE_REPLY_TO_COMMENTS = frozenset({Platform.FACEBOOK, Platform.INSTAGRAM})
# The task carries the normalized event (the contract's minimal form), not the labels twice.
SOCIAL_EVENT_FIELDS: set[str] = set(SocialEvent.model_fields)
_MODERATED = frozenset({Risk.HATE, Risk.SCAM, Risk.SPAM, Risk.THREAT})
# A public question asked this many times (near-duplicates) deserves one public answer.
BROADCAST_AT = 3


_NAMESPACE_BYTES = TASK_NAMESPACE.bytes
# RFC 4122 variant bits (10xx) over the first hex digit of the clock sequence.
_VARIANT = {f"{n:x}": f"{n & 0x3 | 0x8:x}" for n in range(16)}


def task_id(subject: str) -> str:
    """One task per subject (an event, an alert, a breached task), whatever the action:
    a replay after a restart may see other near-duplicate counts and pick another
    action, and must still name the same task.

    ``str(uuid.uuid5(TASK_NAMESPACE, subject))`` spelled out (the same SHA-1 with the
    version and variant digits set, unit-tested): a third of the cost, once per event."""
    h = hashlib.sha1(_NAMESPACE_BYTES + subject.encode(), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def contact_key(event: SocialEvent) -> str:
    """Key of the per-conversation state: one person on one platform."""
    return f"{event.platform.value}:{event.author.id}"


def can_dm(event: ClassifiedEvent, last_private_ts: float | None) -> bool:
    """Whether the brand may write privately to this author on this platform now.

    ``last_private_ts`` is when the person last wrote to the brand in private (event
    time, epoch seconds), from the per-conversation state; the event itself counts
    when it is a DM.
    """
    if event.platform not in DM_WINDOW_S:
        return False
    if event.kind == Kind.DM:
        return True
    if event.direct and event.platform in _PRIVATE_REPLY_TO_COMMENTS and \
            event.kind in (Kind.COMMENT, Kind.REPLY):
        return True
    if last_private_ts is None:
        return False
    window = DM_WINDOW_S[event.platform]
    return window is None or event.created_at.timestamp() - last_private_ts <= window


def _private(event: ClassifiedEvent) -> bool:
    """Personal data or an account/order reference: answer in private, never repeat it."""
    return event.kind == Kind.DM or Risk.PERSONAL_DATA in event.risks or \
        "private_reply" in event.tags


def _action(event: ClassifiedEvent) -> tuple[Action, Queue] | None:
    risks = set(event.risks)
    if risks & _MODERATED:
        return Action.MODERATE, Queue.MODERATION
    if Risk.CRISIS_SIGNAL in risks:
        return Action.ESCALATE_SUPPORT, Queue.CRISIS
    if event.kind == Kind.ARTICLE:
        return Action.MONITOR, Queue.COMMUNITY
    if event.intent == Intent.PURCHASE_INTENT:
        return Action.ESCALATE_SALES, Queue.SALES
    if event.intent in (Intent.COMPLAINT, Intent.QUESTION):
        if event.intent == Intent.QUESTION and event.dup_count >= BROADCAST_AT \
                and not _private(event):
            return Action.BROADCAST, Queue.COMMUNITY
        if event.intent == Intent.COMPLAINT and event.priority in (
                Priority.CRITICAL, Priority.HIGH):
            return Action.ESCALATE_SUPPORT, Queue.SUPPORT
        action = Action.REPLY_PRIVATE if _private(event) else Action.REPLY_PUBLIC
        return action, Queue.SUPPORT
    if event.kind == Kind.DM:
        return Action.REPLY_PRIVATE, Queue.SUPPORT
    # Reactive interactions are answered: praise, reviews and @mentions of the brand.
    if event.direct and (event.intent == Intent.PRAISE
                         or event.kind in (Kind.REVIEW, Kind.MENTION)):
        return Action.REPLY_PUBLIC, Queue.COMMUNITY
    return None  # indirect chatter, small talk: nothing to do


def route(
    event: ClassifiedEvent, sla: SlaSettings, last_private_ts: float | None = None
) -> ResponseTask | None:
    """The task for ``event``, or None when nobody needs to act on it.

    Brand-less events (no monitored brand concerned) and competitors' mentions get
    no task; they are still stored for analysts.
    """
    if event.brand is None:
        return None
    decided = _action(event)
    if decided is None:
        return None
    action, queue = decided
    private = _private(event)
    level = (ResponseLevel.COMMUNITY if action == Action.BROADCAST
             else ResponseLevel.PRIVATE if private else ResponseLevel.PUBLIC)
    priority = event.priority
    if action == Action.MODERATE and priority == Priority.LOW:
        priority = Priority.NORMAL
    facts = event.model_dump(mode="json", include=SOCIAL_EVENT_FIELDS)
    # Whatever the labels: never repeat personal data, even in a task about a scam.
    facts["text"] = mask_personal_data(event.text, lang=event.lang)
    # Every value is typed already (a validated event, its labels, enums): the task is
    # assembled, not validated again.
    return assemble(ResponseTask, {
        "schema_": TASK_SCHEMA,
        "task_id": task_id(event.event_id),
        "created_at": event.created_at,
        "event": facts,
        "classification": event.classification(),
        "action": action,
        "response_level": level,
        "can_dm": can_dm(event, last_private_ts),
        "queue": queue,
        "priority": priority,
        "due_by": due_by(event.created_at, priority.value, event.platform.value, sla),
        "key": event.thread_id or contact_key(event),
        "alert_id": None,
    })


def route_alert(alert: Alert, sla: SlaSettings) -> ResponseTask | None:
    """A crisis task for a newly opened negative spike; other alert messages need none."""
    if not (alert.kind == AlertKind.SPIKE and alert.status == AlertStatus.OPEN
            and alert.polarity == Polarity.NEGATIVE and alert.brand):
        return None
    priority = Priority.CRITICAL if alert.severity in (Severity.HIGH, Severity.CRITICAL) \
        else Priority.HIGH
    return ResponseTask(
        task_id=task_id(f"alert:{alert.alert_id}"),
        created_at=alert.detected_at,
        event=AlertSubject(
            event_id=alert.origin_event_id, brand=alert.brand,
            platform=alert.platforms[0] if alert.platforms else None,
            platforms=list(alert.platforms),
        ).model_dump(mode="json"),
        classification=Classification(
            sentiment=Sentiment.NEGATIVE, risks=[Risk.CRISIS_SIGNAL], priority=priority,
            tags=["crisis", *alert.top_terms[:5]],
            reasons={"action": [f"alert {alert.alert_id} opened: {alert.summary}"]},
        ),
        action=Action.CRISIS_RESPONSE,
        response_level=ResponseLevel.COMMUNITY,
        can_dm=False,
        queue=Queue.CRISIS,
        priority=priority,
        due_by=due_by(alert.detected_at, priority.value, "", sla),
        key=f"crisis:{alert.brand}",
        alert_id=alert.alert_id,
    )
