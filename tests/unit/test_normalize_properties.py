"""Whatever arrives on a raw topic ends in SocialEvents or a dead letter, never an exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from core.brands import BrandDirectory
from core.normalize import Source, normalize_or_refuse
from core.parsers import PayloadError, parser_for
from schemas.deadletter import DeadLetter
from schemas.events import Platform, SocialEvent

BRANDS = BrandDirectory.load()
SOURCE = Source("raw.any", 0, 0, b"k")
PAYLOADS = Path(__file__).parents[1] / "data" / "payloads"
GOLDEN = [
    (Platform(p.parent.name), orjson.loads(p.read_bytes()))
    for p in sorted(PAYLOADS.glob("*/*.json")) if not p.name.endswith(".expected.json")
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
platforms = st.sampled_from(list(Platform))


def ends_well(result: list[SocialEvent] | DeadLetter) -> bool:
    return isinstance(result, DeadLetter) or (
        bool(result) and all(isinstance(e, SocialEvent) for e in result)
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(platforms, st.binary(max_size=400))
def test_any_bytes_end_in_events_or_a_dead_letter(platform: Platform, raw: bytes) -> None:
    assert ends_well(normalize_or_refuse(platform, raw, BRANDS, SOURCE))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(platforms, json_values)
def test_any_json_ends_in_events_or_a_dead_letter(platform: Platform, value: Any) -> None:
    raw = json.dumps(value).encode()  # json: integers of any size, as senders may write
    assert ends_well(normalize_or_refuse(platform, raw, BRANDS, SOURCE))


def _mutate(value: Any, path: list[int], replacement: Any) -> Any:
    """``value`` with the node reached by following ``path`` (indices mod size) replaced."""
    if not path or not isinstance(value, dict | list) or not value:
        return replacement
    keys = list(value) if isinstance(value, dict) else list(range(len(value)))
    key = keys[path[0] % len(keys)]
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[key] = _mutate(value[key], path[1:], replacement)  # type: ignore[index]
    return copy


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(GOLDEN), st.lists(st.integers(0, 50), max_size=8), json_values)
def test_parsers_refuse_damaged_real_payloads_only_with_payload_errors(
    golden: tuple[Platform, Any], path: list[int], replacement: Any
) -> None:
    platform, payload = golden
    damaged = _mutate(payload, path, replacement)
    try:
        events = parser_for(platform)(damaged)
    except (PayloadError, ValidationError):
        return
    assert all(isinstance(e, SocialEvent) for e in events)
