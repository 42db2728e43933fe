"""Route stage: which response task (if any) a classified event calls for.

Pure: channel rules from DESIGN.md's domain facts, SLA from settings. The task id is
derived from the event id and the action, so a replay yields the same task id.
"""

from __future__ import annotations

import uuid
from datetime import datetime

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
)
from schemas.tasks import Action, Queue, ResponseLevel, ResponseTask
from vigie.settings import SlaSettings

TASK_NAMESPACE = uuid.UUID("6f1d4c8e-3a52-4c1b-9f0e-7a1d2b3c4d5e")

# Platforms where a brand can answer privately once the person wrote to it first.
_DM_AFTER_INBOUND = frozenset(
    {Platform.FACEBOOK, Platform.MESSENGER, Platform.INSTAGRAM, Platform.WHATSAPP,
     Platform.X, Platform.TIKTOK, Platform.TWITCH, Platform.TELEGRAM}
)
# The task carries the normalized event (the contract's minimal form), not the labels twice.
SOCIAL_EVENT_FIELDS: set[str] = set(SocialEvent.model_fields)
_ROUTED_KINDS = frozenset({Kind.DM, Kind.MENTION, Kind.COMMENT, Kind.REPLY, Kind.REVIEW})


def task_id(event_id: str, action: Action) -> str:
    return str(uuid.uuid5(TASK_NAMESPACE, f"{event_id}|{action.value}"))


def can_dm(event: ClassifiedEvent) -> bool:
    """Whether the brand may open a private conversation with this author now.

    A DM the person sent opens the platform's reply window; LinkedIn pages cannot
    message members and YouTube has no private messages.
    """
    return event.kind == Kind.DM and event.platform in _DM_AFTER_INBOUND


def _action(event: ClassifiedEvent) -> tuple[Action, Queue]:
    risks = set(event.risks)
    if risks & {Risk.HATE, Risk.SCAM, Risk.SPAM}:
        return Action.MODERATE, Queue.MODERATION
    if Risk.THREAT in risks or Risk.CRISIS_SIGNAL in risks:
        return Action.ESCALATE_SUPPORT, Queue.CRISIS
    if event.intent == Intent.PURCHASE_INTENT:
        return Action.ESCALATE_SALES, Queue.SALES
    if event.intent in (Intent.COMPLAINT, Intent.QUESTION):
        private = event.kind == Kind.DM or Risk.PERSONAL_DATA in risks
        return (Action.REPLY_PRIVATE if private else Action.REPLY_PUBLIC), Queue.SUPPORT
    if event.kind == Kind.DM:
        return Action.REPLY_PRIVATE, Queue.SUPPORT
    return Action.REPLY_PUBLIC, Queue.COMMUNITY


def route(event: ClassifiedEvent, sla: SlaSettings) -> ResponseTask | None:
    """The task for ``event``, or None when nobody needs to act on it."""
    if event.brand is None or not event.direct or event.kind not in _ROUTED_KINDS:
        return None
    action, queue = _action(event)
    private = event.kind == Kind.DM or Risk.PERSONAL_DATA in event.risks
    priority = event.priority
    if action == Action.MODERATE and priority == Priority.LOW:
        priority = Priority.NORMAL
    created_at: datetime = event.created_at
    return ResponseTask(
        task_id=task_id(event.event_id, action),
        created_at=created_at,
        event=event.model_dump(mode="json", include=SOCIAL_EVENT_FIELDS),
        classification=event.classification(),
        action=action,
        response_level=ResponseLevel.PRIVATE if private else ResponseLevel.PUBLIC,
        can_dm=can_dm(event),
        queue=queue,
        priority=priority,
        due_by=created_at + sla.due_in(priority.value),
        key=event.thread_id or f"{event.platform.value}:{event.author.id}",
    )



def route_alert(alert: Alert, sla: SlaSettings) -> ResponseTask | None:
    """A crisis task for a newly opened negative spike; other alert messages need none."""
    if not (alert.kind == AlertKind.SPIKE and alert.status == AlertStatus.OPEN
            and alert.polarity == Polarity.NEGATIVE and alert.brand):
        return None
    priority = Priority.CRITICAL if alert.severity in (Severity.HIGH, Severity.CRITICAL) \
        else Priority.HIGH
    return ResponseTask(
        task_id=task_id(f"alert:{alert.alert_id}", Action.CRISIS_RESPONSE),
        created_at=alert.detected_at,
        event={
            "event_id": alert.origin_event_id, "brand": alert.brand,
            "platform": alert.platforms[0].value if alert.platforms else None,
            "platforms": [p.value for p in alert.platforms],
        },
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
        due_by=alert.detected_at + sla.due_in(priority.value),
        key=f"crisis:{alert.brand}",
        alert_id=alert.alert_id,
    )
