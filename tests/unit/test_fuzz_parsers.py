"""Fuzzing every parser through the normalize stage with the ways real deliveries break.

Each case is a damaged real payload of the platform (invalid UTF-8, truncated JSON,
deep nesting, huge strings, wrong types, far past or future timestamps, another
platform's payload, empty body, random bytes). Whatever comes in ends in events with
a plausible time or in one dead letter with a short, readable reason: never an
exception, never a hang. 10,000 cases per parser with ``--run-slow``, 300 in CI.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from core.normalize import normalize_or_refuse
from core.parsers.base import EARLIEST, LATEST
from schemas.deadletter import DeadLetter
from schemas.events import Platform
from tests.support.damage import BRANDS, EXTREME_TIMES, GOLDEN, SOURCE, damaged, encoded, replaced

CI_CASES, FULL_CASES = 300, 10_000
MAX_SECONDS_PER_CASE = 2.0


def outcome(platform: Platform, raw: bytes) -> str:
    """Run the stage on one case; the kind of result it gave, after checking it."""
    started = time.perf_counter()
    result = normalize_or_refuse(platform, raw, BRANDS, SOURCE)
    elapsed = time.perf_counter() - started
    assert elapsed < MAX_SECONDS_PER_CASE, f"{elapsed:.1f}s on one payload"
    if isinstance(result, DeadLetter):
        assert (result.stage, result.platform) == ("normalize", platform.value)
        assert result.payload == raw, "the dead letter must keep the original bytes"
        assert 3 <= len(result.reason) <= 600, f"reason of {len(result.reason)} characters"
        assert re.search("[a-z]{3}", result.reason), f"unclear reason {result.reason[:80]!r}"
        return "dead_letter"
    for event in result:
        assert EARLIEST <= event.created_at < LATEST, event.created_at
    return "events" if result else "no_message"


@pytest.mark.parametrize("platform", list(Platform), ids=lambda p: p.value)
def test_any_damaged_delivery_ends_in_events_or_a_dead_letter_with_a_clear_reason(
    platform: Platform, full_size: bool,
) -> None:
    seen: Counter[str] = Counter()

    @settings(max_examples=FULL_CASES if full_size else CI_CASES, deadline=None,
              database=None, derandomize=not full_size,
              suppress_health_check=list(HealthCheck))
    @given(damaged(platform))
    def check(case: tuple[str, bytes]) -> None:
        damage, raw = case
        seen[f"{damage}:{outcome(platform, raw)}"] += 1

    check()
    print(f"\nfuzz {platform.value}: {sum(seen.values())} cases {dict(sorted(seen.items()))}")
    assert any(k.endswith("dead_letter") for k in seen)


@pytest.mark.parametrize("value", EXTREME_TIMES[:16], ids=str)
def test_an_out_of_range_message_time_is_a_dead_letter_naming_the_field(value: Any) -> None:
    [payload] = [p for p in GOLDEN[Platform.FORUM] if "created_at" in p.get("post", {})][:1]
    raw = encoded(replaced(payload, ("post", "created_at"), value))
    letter = normalize_or_refuse(Platform.FORUM, raw, BRANDS, SOURCE)
    assert isinstance(letter, DeadLetter)
    assert "created_at" in letter.reason
