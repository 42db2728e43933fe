"""Text preparation shared by every rule: one pass per event, reused by all stages.

Rules match on a *folded* form (lower case, accents stripped, typographic quotes
and "n't" normalised) so lexicons are written once, without accent variants.
Folding maps every character to exactly one character, so offsets in the folded
text are offsets in the original text (needed to mask personal data).
"""

from __future__ import annotations

import re
from typing import NamedTuple

_FOLD = str.maketrans(
    "àâäáãåçéèêëíìîïñóòôöõúùûüýÿœæßÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝŒÆ’‘´`«»“”",
    "aaaaaaceeeeiiiinooooouuuuyyoasaaaaaaceeeeiiiinooooouuuuyoa''''\"\"\"\"",
)
_NOT = re.compile(r"n't\b")
_TOKEN = re.compile(r"[a-z0-9]+")
_LETTER = re.compile(r"[^\W\d_]")
_UPPER = re.compile(r"[A-ZÀ-ÖØ-Þ]")
_SHOUTED_WORD = re.compile(r"\b[A-ZÀ-ÖØ-Þ]{4,}\b")


_FOLDED = {chr(code): chr(target) for code, target in _FOLD.items()}
_FOLDABLE = frozenset(_FOLDED)


def fold(text: str) -> str:
    """Lower-case and strip accents, keeping the length of ``text``.

    ``str.translate`` looks every character up; replacing only the few foldable
    characters the text holds gives the same string for much less (figures in
    docs/performance.md).
    """
    low = text.lower()
    for char in _FOLDABLE.intersection(low):
        low = low.replace(char, _FOLDED[char])
    return low


class Prepared(NamedTuple):
    """An event text in the forms the rules need, computed once (a tuple: built for
    every event, three times cheaper than a frozen dataclass)."""

    raw: str
    folded: str
    words: frozenset[str]  # the [a-z0-9]+ runs of ``folded``, for anchored patterns
    tokens: tuple[str, ...]
    shouted: frozenset[str]
    all_caps: bool


def prepare(text: str) -> Prepared:
    """Fold, tokenise and measure shouting (ALL CAPS) once per event."""
    folded = fold(text)
    runs = _TOKEN.findall(folded)
    tokens = tokenize(folded) if "n't" in folded else tuple(runs)
    shouted_words = _SHOUTED_WORD.findall(text)
    if not shouted_words:  # the common case: no need to count letters
        return Prepared(text, folded, frozenset(runs), tokens, frozenset(), False)
    letters = len(_LETTER.findall(text))
    all_caps = letters >= 12 and len(_UPPER.findall(text)) >= 0.7 * letters
    shouted = frozenset(map(fold, shouted_words))
    return Prepared(text, folded, frozenset(runs), tokens, shouted, all_caps)


def tokenize(folded: str) -> tuple[str, ...]:
    """Word tokens of an already folded text ("n't" read as "not")."""
    return tuple(_TOKEN.findall(_NOT.sub(" not", folded)))
