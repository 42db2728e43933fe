"""What every adapter shares: the protocol, the error type, small field readers."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas.events import Platform, SocialEvent


class PayloadError(ValueError):
    """The payload is not a valid event of its platform; the message says why."""


Json = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Adapter:
    """Maps one raw payload of ``platform`` to zero or more normalized events.

    A webhook delivery may carry several changes (Meta batches ``entry[].changes``),
    hence a list. Raises :class:`PayloadError` (or a pydantic ``ValidationError``)
    when the payload is not what the platform sends.
    """

    platform: Platform
    parse: Callable[[Json], list[SocialEvent]]

    def __call__(self, payload: Json) -> list[SocialEvent]:
        if not isinstance(payload, Mapping):
            raise PayloadError(f"{self.platform.value} payload must be a JSON object")
        events = self.parse(payload)
        if not events:
            raise PayloadError(f"{self.platform.value} payload holds no message")
        return events


def require(obj: Json, *path: str) -> Any:
    """``obj[path[0]][path[1]]…``, or a PayloadError naming the missing field."""
    current: Any = obj
    for i, key in enumerate(path):
        if not isinstance(current, Mapping) or key not in current or current[key] is None:
            raise PayloadError(f"missing field {'.'.join(path[: i + 1])}")
        current = current[key]
    return current


def optional(obj: Json, *path: str) -> Any:
    current: Any = obj
    for key in path:
        if not isinstance(current, Mapping) or key not in current:
            return None
        current = current[key]
    return current


def as_list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise PayloadError(f"field {field} must be a list")
    return value


def clean_text(value: Any, field: str = "text") -> str:
    """NFC-normalized text with control characters (but not newlines) removed."""
    if not isinstance(value, str):
        raise PayloadError(f"field {field} must be a string")
    text = unicodedata.normalize("NFC", value)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()


def native_id(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise PayloadError(f"field {field} must be a non-empty id")
    return str(value)


def from_unix(value: Any, field: str, *, millis: bool = False) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"field {field} must be a unix timestamp")
    seconds = value / 1000 if millis else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise PayloadError(f"field {field} is out of range: {value!r}") from exc


def from_iso(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise PayloadError(f"field {field} must be an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PayloadError(f"field {field} is not ISO-8601: {value[:40]!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
