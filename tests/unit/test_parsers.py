"""Golden fixtures: realistic payloads of every platform and what they must normalize to."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from core.brands import BrandDirectory
from core.normalize import Source, normalize_or_refuse, normalize_payload
from core.parsers import PARSERS, NoMessage
from core.parsers.base import clean_text
from schemas.events import Platform

PAYLOADS = Path(__file__).parents[1] / "data" / "payloads"
CASES = sorted(
    p for p in PAYLOADS.glob("*/*.json") if not p.name.endswith(".expected.json")
)


@pytest.fixture(scope="module")
def brands() -> BrandDirectory:
    return BrandDirectory.load()


def test_every_contract_platform_has_a_parser_and_golden_fixtures() -> None:
    assert set(PARSERS) == set(Platform)
    assert {p.parent.name for p in CASES} == {p.value for p in Platform}


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_payload_normalizes_to_its_golden_events(case: Path, brands: BrandDirectory) -> None:
    expected = orjson.loads(case.with_suffix(".expected.json").read_bytes())
    platform = Platform(case.parent.name)
    if isinstance(expected, dict):  # a delivery that holds no message
        with pytest.raises(NoMessage):
            normalize_payload(platform, case.read_bytes(), brands)
        return
    events = normalize_payload(platform, case.read_bytes(), brands)
    assert [e.model_dump(mode="json") for e in events] == expected


def load(platform: str, case: str, brands: BrandDirectory) -> list[dict[str, object]]:
    raw = (PAYLOADS / platform / f"{case}.json").read_bytes()
    return [e.model_dump(mode="json") for e in normalize_payload(Platform(platform), raw, brands)]


def test_edits_and_deletions_keep_the_original_event_id(brands: BrandDirectory) -> None:
    created = load("facebook", "comment_with_emoji", brands)[0]
    edited = load("facebook", "edited_comment", brands)[0]
    deleted = load("facebook", "deleted_comment_without_message", brands)[0]
    assert created["event_id"] == edited["event_id"] == deleted["event_id"]
    assert "change" not in created
    assert (edited["change"], deleted["change"], deleted["text"]) == ("edited", "deleted", "")
    assert load("x", "edited_post_keeps_original_id", brands)[0]["event_id"] == (
        "x:1853000000000000009"
    )


def test_direct_messages_share_one_thread_per_brand_account_and_person(
    brands: BrandDirectory,
) -> None:
    for platform, case, thread in [
        ("messenger", "text_with_attachment", "100200300:7001234567890"),
        ("whatsapp", "text_message", "106540352240001:33612345678"),
        ("x", "direct_message", "1500000003:3003"),
        ("twitch", "whisper", "741000002:2002"),
        ("telegram", "business_dm", "bc-AuroreAir-7Hq2:555001"),
    ]:
        event = load(platform, case, brands)[0]
        assert (event["kind"], event["thread_id"]) == ("dm", thread), platform


def test_replies_point_at_their_parent_within_their_thread(brands: BrandDirectory) -> None:
    for platform, case in [("facebook", "reply_in_thread"), ("instagram", "reply_to_comment"),
                           ("x", "reply_in_thread"), ("twitch", "reply_in_thread"),
                           ("forum", "edited_reply_html_only"),
                           ("web_comments", "reply_by_registered_user")]:
        event = load(platform, case, brands)[0]
        assert event["kind"] == "reply", platform
        assert event["in_reply_to"], platform
        assert event["thread_id"], platform


def test_indirect_mentions_are_attributed_by_name_even_misspelled(
    brands: BrandDirectory,
) -> None:
    post = load("x", "indirect_post_without_user", brands)[0]
    assert (post["brand"], post["direct"], post["addressed_to"]) == ("maison_lumen", False, None)
    assert load("forum", "edited_reply_html_only", brands)[0]["brand"] == "nordbank"



def test_a_message_dated_in_the_future_is_a_dead_letter_with_that_reason() -> None:
    post = {"data": {"id": "1", "text": "hello", "author_id": "2",
                     "created_at": "2099-01-01T00:00:00Z"}}
    result = normalize_or_refuse(Platform.X, orjson.dumps(post), BrandDirectory.load(),
                                 Source("raw.x", 0, 1), datetime(2026, 11, 24, tzinfo=UTC))
    assert not isinstance(result, list)
    assert "future" in result.reason


def test_clean_text_drops_exactly_the_control_characters_but_tab_and_newline() -> None:
    every = "".join(map(chr, range(0x2FF))) + "\u2028\ufeff\U0001f600 e\u0301"
    expected = "".join(
        ch for ch in unicodedata.normalize("NFC", every)
        if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()
    assert clean_text(every) == expected
