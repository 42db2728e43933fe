"""Real payloads damaged the ways real deliveries break (for the fuzz tests)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from core.brands import BrandDirectory
from core.normalize import Source
from schemas.events import Platform

BRANDS = BrandDirectory.load()
SOURCE = Source("raw.fuzz", 0, 0, b"k")
PAYLOADS = Path(__file__).parents[1] / "data" / "payloads"
GOLDEN: dict[Platform, list[Any]] = {
    p: [json.loads(f.read_bytes()) for f in sorted((PAYLOADS / p.value).glob("*.json"))
        if not f.name.endswith(".expected.json")]
    for p in Platform
}
PLACEHOLDER = "\u0000fuzz\u0000"
TIME_KEY = re.compile(r"time|date|created|published|updated|timestamp", re.IGNORECASE)
INVALID_UTF8 = (b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf0\x28\x8c\x28", b"\x80\x80")
EXTREME_TIMES: tuple[Any, ...] = (
    0, -1, -(10**12), 10**11, 10**13, 10**17, 10**20, 1e300, -1e300, "0", "99999999999999",
    "0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1899-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "Mon, 01 Jan 0001 00:00:00 +0000",
    "Fri, 31 Dec 9999 23:59:59 +1400", "not a date", "", True, None, [], {},
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every node of a JSON value, as the key path leading to it."""
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from paths(inner, (*prefix, index))


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


def encoded(value: Any, raw_at_placeholder: bytes = b"") -> bytes:
    """JSON bytes (big integers allowed, as some senders write them), with the
    placeholder string swapped for ``raw_at_placeholder`` when given."""
    text = json.dumps(value, ensure_ascii=False).encode()
    return text.replace(json.dumps(PLACEHOLDER).encode(), raw_at_placeholder, 1)


def deep(depth: int, kind: str) -> bytes:
    return (b"[" * depth + b"]" * depth if kind == "list"
            else b'{"a":' * depth + b"null" + b"}" * depth)


def damaged(platform: Platform) -> st.SearchStrategy[tuple[str, bytes]]:
    """``(kind of damage, raw bytes)`` for one platform."""
    golden = st.sampled_from(GOLDEN[platform])
    others = st.sampled_from([g for p, gs in GOLDEN.items() if p != platform for g in gs])

    def at_node(build: Callable[[Any, tuple[Any, ...]], st.SearchStrategy[bytes]],
                only: Callable[[tuple[Any, ...]], bool] = lambda p: True,
                ) -> st.SearchStrategy[bytes]:
        def choose(value: Any) -> st.SearchStrategy[bytes]:
            candidates = [p for p in paths(value) if only(p)] or [()]
            return st.sampled_from(candidates).flatmap(lambda p: build(value, p))
        return golden.flatmap(choose)

    def is_time(path: tuple[Any, ...]) -> bool:
        return bool(path) and isinstance(path[-1], str) and bool(TIME_KEY.search(path[-1]))

    def is_text(path: tuple[Any, ...]) -> bool:
        return bool(path) and isinstance(path[-1], str) and not is_time(path)

    def truncated(raw: bytes) -> st.SearchStrategy[bytes]:
        return st.integers(0, len(raw) - 1).map(lambda k: raw[:k])

    def invalid_utf8(raw: bytes) -> st.SearchStrategy[bytes]:
        return st.tuples(st.integers(0, len(raw)), st.sampled_from(INVALID_UTF8)).map(
            lambda t: raw[: t[0]] + t[1] + raw[t[0]:])

    def nested(value: Any, path: tuple[Any, ...]) -> st.SearchStrategy[bytes]:
        return st.tuples(st.integers(50, 5000), st.sampled_from(["list", "dict"])).map(
            lambda t: encoded(replaced(value, path, PLACEHOLDER), deep(*t)))

    def huge(value: Any, path: tuple[Any, ...]) -> st.SearchStrategy[bytes]:
        return st.integers(10_000, 1_500_000).map(lambda n: encoded(
            replaced(value, path, PLACEHOLDER), b'"' + "é".encode() * (n // 2) + b'"'))

    def wrong_type(value: Any, path: tuple[Any, ...]) -> st.SearchStrategy[bytes]:
        return json_values.map(lambda new: encoded(replaced(value, path, new)))

    def extreme_time(value: Any, path: tuple[Any, ...]) -> st.SearchStrategy[bytes]:
        return st.sampled_from(EXTREME_TIMES).map(lambda new: encoded(replaced(value, path, new)))

    def tagged(name: str, cases: st.SearchStrategy[bytes]) -> st.SearchStrategy[tuple[str, bytes]]:
        return cases.map(lambda raw: (name, raw))

    raw_golden = golden.map(encoded)
    return st.one_of(
        tagged("truncated", raw_golden.flatmap(truncated)),
        tagged("invalid_utf8", raw_golden.flatmap(invalid_utf8)),
        tagged("deeply_nested", at_node(nested)),
        tagged("huge_string", at_node(huge, is_text)),
        tagged("wrong_type", at_node(wrong_type)),
        tagged("extreme_time", at_node(extreme_time, is_time)),
        tagged("other_platform", others.map(encoded)),
        tagged("bytes", st.binary(max_size=300)),
        st.just(("empty", b"")),
    )
