"""Routing rules: which task, at which level, with which channel, by when."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from base.settings import SlaSettings
from core.route import TASK_NAMESPACE, can_dm, route, task_id
from schemas.events import Author, ClassifiedEvent, Intent, Kind, Platform, Priority, Risk
from schemas.tasks import Action, Queue, ResponseLevel, ResponseTask

SLA = SlaSettings(around_the_clock=["critical", "high", "normal", "low"])
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def event(platform: Platform = Platform.X, kind: Kind = Kind.MENTION, **labels: Any
          ) -> ClassifiedEvent:
    fields: dict[str, Any] = {
        "event_id": f"{platform.value}:1", "platform": platform, "kind": kind,
        "brand": "aurore_air", "author": Author(id="42", handle="jo"),
        "text": "Mon numéro de commande est 123456789", "created_at": NOW, "direct": True,
        "thread_id": "t1", "intent": Intent.QUESTION,
    }
    fields.update(labels)
    return ClassifiedEvent(**fields)


def test_a_dm_opens_the_private_channel_on_platforms_that_have_one() -> None:
    assert can_dm(event(Platform.WHATSAPP, Kind.DM), None)
    assert can_dm(event(Platform.MESSENGER, Kind.DM), None)


def test_youtube_and_linkedin_never_allow_a_private_message() -> None:
    recent = NOW.timestamp() - 60
    assert not can_dm(event(Platform.YOUTUBE, Kind.COMMENT), recent)
    assert not can_dm(event(Platform.LINKEDIN, Kind.COMMENT), recent)


def test_whatsapp_window_closes_24_hours_after_the_person_last_wrote() -> None:
    comment = event(Platform.WHATSAPP, Kind.REPLY)
    assert can_dm(comment, NOW.timestamp() - 23 * 3600)
    assert not can_dm(comment, NOW.timestamp() - 25 * 3600)


def test_an_x_mention_from_someone_who_wrote_in_private_can_be_answered_in_private() -> None:
    assert not can_dm(event(Platform.X, Kind.MENTION), None)
    assert can_dm(event(Platform.X, Kind.MENTION), (NOW - timedelta(days=30)).timestamp())


def test_a_comment_on_the_brand_page_gets_a_private_reply_on_facebook() -> None:
    assert can_dm(event(Platform.FACEBOOK, Kind.COMMENT), None)


def test_personal_data_goes_private_and_the_task_does_not_repeat_it() -> None:
    task = route(event(risks=[Risk.PERSONAL_DATA], intent=Intent.COMPLAINT), SLA)
    assert task is not None
    assert task.response_level == ResponseLevel.PRIVATE
    assert task.action == Action.REPLY_PRIVATE
    assert "123456789" not in task.event["text"]


def test_a_task_never_repeats_personal_data_whatever_the_labels_say() -> None:
    text = "Arnaque ! ils ont ma carte 4111 1111 1111 1111, rappelez moi au 06 12 34 56 78"
    task = route(event(text=text, risks=[Risk.SCAM], intent=Intent.COMPLAINT), SLA)
    assert task is not None
    assert task.event["text"] == "Arnaque ! ils ont ma carte [card], rappelez moi au [phone]"


def test_a_question_many_people_ask_gets_one_public_answer_for_the_community() -> None:
    task = route(event(text="Quand rouvre la ligne ?", dup_count=5), SLA)
    assert task is not None
    assert (task.action, task.response_level, task.queue) == (
        Action.BROADCAST, ResponseLevel.COMMUNITY, Queue.COMMUNITY)


def test_purchase_intent_goes_to_sales_and_hate_to_moderation() -> None:
    sale = route(event(text="je veux acheter", intent=Intent.PURCHASE_INTENT), SLA)
    hate = route(event(text="...", risks=[Risk.HATE], priority=Priority.LOW), SLA)
    assert sale is not None
    assert hate is not None
    assert (sale.action, sale.queue) == (Action.ESCALATE_SALES, Queue.SALES)
    assert (hate.action, hate.queue, hate.priority) == (
        Action.MODERATE, Queue.MODERATION, Priority.NORMAL)


def test_an_at_mention_of_the_brand_is_answered_even_with_no_clear_intent() -> None:
    mention = route(event(intent=Intent.OTHER, text="vu la pub hier soir, sympa"), SLA)
    comment = route(event(kind=Kind.COMMENT, intent=Intent.OTHER, text="vu la pub"), SLA)
    assert mention is not None
    assert (mention.action, mention.queue) == (Action.REPLY_PUBLIC, Queue.COMMUNITY)
    assert comment is None


def test_indirect_small_talk_and_unmonitored_brands_need_no_task() -> None:
    assert route(event(text="vu la pub", direct=False, intent=Intent.OTHER), SLA) is None
    assert route(event(brand=None), SLA) is None


def test_the_task_id_is_the_same_on_replay_and_the_deadline_follows_the_sla() -> None:
    first = route(event(text="Où est mon colis ?"), SLA)
    again = route(event(text="Où est mon colis ?"), SLA)
    assert first is not None
    assert again is not None
    assert first.task_id == again.task_id
    assert first.due_by == NOW + timedelta(minutes=SLA.normal_minutes)
    assert first.key == "t1"


def test_task_ids_are_the_uuid5_of_their_subject() -> None:
    rng = random.Random(1)
    subjects = [f"x:{rng.randrange(10**18)}" for _ in range(2000)] + ["alert:é€😀", "", "a" * 300]
    assert all(task_id(s) == str(uuid.uuid5(TASK_NAMESPACE, s)) for s in subjects)


def test_a_task_is_what_validating_its_values_would_have_built() -> None:
    """Tasks are assembled from typed values without validation: each must equal the
    task pydantic validates from its own JSON, field for field and in its types."""
    for platform in (Platform.X, Platform.WHATSAPP, Platform.YOUTUBE):
        for labels in ({}, {"risks": [Risk.SCAM]}, {"intent": Intent.COMPLAINT}):
            task = route(event(platform, Kind.DM if platform is Platform.WHATSAPP
                               else Kind.MENTION, **labels), SLA)
            assert task is not None
            validated = ResponseTask.model_validate_json(task.model_dump_json(by_alias=True))
            assert validated == task
            assert validated.model_fields_set == task.model_fields_set
            assert {name: type(value) for name, value in validated.__dict__.items()} == {
                name: type(value) for name, value in task.__dict__.items()}
