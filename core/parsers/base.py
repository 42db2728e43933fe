"""What every parser shares: the protocol, the error type, field readers, the event builder.

Readers raise :class:`PayloadError` (never ``KeyError``/``TypeError``) so that any
JSON a parser is given ends in events or in a dead letter saying which field was wrong.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import orjson

from schemas.events import Author, Kind, Platform, SocialEvent


class PayloadError(ValueError):
    """The payload is not a valid event of its platform; the message says why."""


class NoMessage(PayloadError):
    """A genuine delivery that carries no message (read receipt, reaction, status).

    A subclass of :class:`PayloadError` so callers that only know that type still
    refuse it; the normalize stage may count these instead of dead-lettering them.
    """


Json = Mapping[str, Any]
# What a JSON object may be: dict (what orjson gives) first, so isinstance takes its
# exact-type fast path instead of the Mapping ABC's check, made many times a payload.
OBJECT = (dict, Mapping)


class Change(StrEnum):
    """What happened to the message; carried as the extra key ``change`` when not a creation.

    The ``event_id`` stays that of the original message, so downstream stores keep
    one row per message and the last version wins.
    """

    EDITED = "edited"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class Parser:
    """Maps one raw payload of ``platform`` to zero or more normalized events.

    A webhook delivery may carry several changes (Meta batches ``entry[].changes``),
    hence a list. Raises :class:`PayloadError` (or a pydantic ``ValidationError``)
    when the payload is not what the platform sends.
    """

    platform: Platform
    parse: Callable[[Json], list[SocialEvent]]

    def __call__(self, payload: Json) -> list[SocialEvent]:
        if not isinstance(payload, OBJECT):
            raise PayloadError(f"{self.platform.value} payload must be a JSON object")
        events = self.parse(payload)
        if not events:
            raise NoMessage(f"{self.platform.value} payload holds no message")
        return events


def require(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]…``, or a PayloadError naming the missing field."""
    current: Any = obj
    for i, key in enumerate(path):
        if not isinstance(current, OBJECT) or key not in current or current[key] is None:
            raise PayloadError(f"missing field {'.'.join(path[: i + 1])}")
        current = current[key]
    return current


def optional(obj: Any, *path: str) -> Any:
    current: Any = obj
    for key in path:
        if not isinstance(current, OBJECT) or key not in current:
            return None
        current = current[key]
    return current


def require_object(obj: Any, *path: str) -> Json:
    """Like :func:`require`, and the value must be a JSON object."""
    value = require(obj, *path)
    if not isinstance(value, OBJECT):
        raise PayloadError(f"field {'.'.join(path)} must be an object")
    return value


def keyword(value: Any) -> str:
    """A discriminating field (``type``, ``verb``, ``action``) as a string ("" when it is not)."""
    return value if isinstance(value, str) else ""


def as_list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise PayloadError(f"field {field} must be a list")
    return value


def objects(value: Any, field: str) -> list[Json]:
    """The JSON objects of an optional list (absent = empty); anything else is an error."""
    if value is None:
        return []
    items = as_list(value, field)
    if not all(isinstance(item, OBJECT) for item in items):
        raise PayloadError(f"field {field} must be a list of objects")
    return items


# Unicode category Cc (C0 and C1 controls, DEL) but tab and newline: one C-level pass
# instead of a category look-up per character.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(value: Any, field: str = "text") -> str:
    """NFC-normalized text with control characters (but not newlines) removed."""
    if not isinstance(value, str):
        raise PayloadError(f"field {field} must be a string")
    return _CONTROL.sub("", unicodedata.normalize("NFC", value)).strip()


def optional_text(value: Any, field: str = "text") -> str:
    """Text that may be absent (a photo without caption, a rating without comment)."""
    return "" if value is None else clean_text(value, field)


_BREAK = re.compile(r"<br\s*/?>|</p>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def html_text(value: Any, field: str) -> str:
    """Readable text from an HTML fragment (RSS descriptions, rendered comments)."""
    if not isinstance(value, str):
        raise PayloadError(f"field {field} must be a string")
    text = html.unescape(_TAG.sub("", _BREAK.sub("\n", value)))
    return clean_text(re.sub(r"\n{3,}", "\n\n", text), field)


def native_id(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise PayloadError(f"field {field} must be a non-empty id")
    return str(value)


def optional_id(value: Any, field: str) -> str | None:
    return None if value is None else native_id(value, field)


def count(value: Any, field: str) -> int | None:
    """A follower/subscriber count, when the platform gives one."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PayloadError(f"field {field} must be a non-negative integer")
    return value


def lang_hint(value: Any) -> str | None:
    """ISO-639-1 code from a platform's language tag (``fr``, ``fr-FR``, ``en_US``)."""
    if not isinstance(value, str):
        return None
    code = value.replace("_", "-").split("-", 1)[0].lower()
    return code if len(code) == 2 and code.isalpha() and code.isascii() else None


def embedded_json(value: Any, field: str) -> Json:
    """A JSON object sent as a string inside the payload (TikTok's ``content``)."""
    if isinstance(value, OBJECT):
        return value
    if not isinstance(value, str):
        raise PayloadError(f"field {field} must be a JSON string")
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"field {field} is not valid JSON") from exc
    if not isinstance(parsed, OBJECT):
        raise PayloadError(f"field {field} must hold a JSON object")
    return parsed


def _checked(moment: datetime, field: str) -> datetime:
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (OverflowError, ValueError) as exc:
        raise PayloadError(f"field {field} is out of range") from exc


def from_unix(value: Any, field: str, *, millis: bool = False) -> datetime:
    """UTC time from seconds (or milliseconds) since the epoch, as number or digit string."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"field {field} must be a unix timestamp")
    seconds = value / 1000 if millis else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise PayloadError(f"field {field} is out of range: {value!r}") from exc


_FRACTION = re.compile(r"(\.\d{6})\d+")


def from_iso(value: Any, field: str) -> datetime:
    """UTC time from ISO-8601; naive means UTC; nanosecond fractions are cut to microseconds."""
    if not isinstance(value, str):
        raise PayloadError(f"field {field} must be an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value.replace("Z", "+00:00")))
    except ValueError as exc:
        raise PayloadError(f"field {field} is not ISO-8601: {value[:40]!r}") from exc
    return _checked(parsed, field)


def from_rfc2822(value: Any, field: str) -> datetime:
    """UTC time from an RSS ``pubDate`` (``Mon, 02 Nov 2026 08:00:00 +0100``), or ISO-8601."""
    if not isinstance(value, str):
        raise PayloadError(f"field {field} must be a date string")
    try:
        return _checked(parsedate_to_datetime(value), field)
    except (TypeError, ValueError, IndexError):
        return from_iso(value, field)


# Message times outside this range are data errors (epoch zero, seconds read as
# milliseconds, sentinel dates such as 0001-01-01 or 9999-12-31), refused before they
# reach the event-time logic (dedup TTL, surge windows) or ClickHouse's DateTime64.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def plausible_time(moment: datetime, field: str = "created_at") -> datetime:
    """``moment`` when it is a plausible message time, else a PayloadError saying why."""
    if not EARLIEST <= moment < LATEST:
        raise PayloadError(f"field {field} out of range: {moment.isoformat()} (accepted "
                           f"{EARLIEST.date()} to {LATEST.date()})")
    return moment


def event(
    platform: Platform,
    native: str,
    kind: Kind,
    *,
    author: Author,
    text: str,
    created_at: datetime,
    change: Change | None = None,
    **fields: Any,
) -> SocialEvent:
    """The normalized event; ``change`` is only written for edits and deletions."""
    extra: dict[str, Any] = {"change": change.value} if change else {}
    return SocialEvent(
        event_id=SocialEvent.make_id(platform, native),
        platform=platform,
        kind=kind,
        author=author,
        text=text,
        created_at=plausible_time(created_at),
        **fields,
        **extra,
    )


def dm_thread(account: str, person: str) -> str:
    """One private conversation per (brand account, person): the thread of every DM."""
    return f"{account}:{person}"
