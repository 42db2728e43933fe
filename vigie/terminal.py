"""Stored text shown in a terminal: never read as markup, never acting on the terminal."""

from __future__ import annotations

import re

from rich.text import Text

# Characters that drive a terminal rather than show: C0/C1 controls (escape sequences
# start with ESC), zero-width and bidirectional formatting marks.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def literal(value: object) -> Text:
    """``value`` shown as it is: never read as Rich markup, and control characters
    written as escapes (``\\x1b``, ``\\n``, ``\\u202e``) so they cannot reach the terminal."""
    shown = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), str(value))
    return Text(shown)
