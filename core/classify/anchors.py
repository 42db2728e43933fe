"""Run a regex only when a word it cannot match without is in the text.

Scanning a text with a long alternation costs a try of every alternative at
every word start; most patterns need a word most texts lack. :class:`Anchored`
reads its pattern with the standard library's own regex parser, derives *anchors*
(a whole word, the start of a word, or a literal such as ``@``, one of which
every match contains) and searches only texts that hold one. A pattern whose
anchors cannot be derived always runs, so gating never changes what matches,
only how often the regex is tried.

Patterns must match at a word start (compiled after ``(?<![a-z0-9])``, or
beginning with ``\\b``/``^``) on folded text, where words are ``[a-z0-9]+`` runs.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

from core.classify.lang import FUNCTION_WORDS

WORD = re.compile(r"[a-z0-9]+")
_MAX_LEADS = 512  # literal expansions kept per pattern before giving up on precision
_ZERO_WIDTH = frozenset({sre.AT, sre.ASSERT, sre.ASSERT_NOT})
_BOUNDARY = "\0"  # stands for ``\b`` in a literal: a word cannot run across it


def _leads(items: Any) -> tuple[set[str], bool, int]:
    """Literal strings one of which starts every match of the parsed ``items``, whether
    they are the whole match (so what follows may extend them), and the items read."""
    leads = {""}
    for read, (op, av) in enumerate(items):
        if op is sre.AT and av is sre.AT_BOUNDARY:
            leads = {lead + _BOUNDARY for lead in leads}
            continue
        if op in _ZERO_WIDTH:
            continue
        if op is sre.LITERAL:
            options, complete = {chr(av)}, True
        elif op is sre.IN and all(kind is sre.LITERAL for kind, _ in av):
            options, complete = {chr(code) for _, code in av}, True
        elif op is sre.SUBPATTERN and not av[1] and not av[2]:
            options, complete, _ = _leads(av[3])
        elif op is sre.BRANCH:
            parts = [_leads(alternative) for alternative in av[1]]
            options = set().union(*(strings for strings, _, _ in parts))
            complete = all(whole for _, whole, _ in parts)
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and av[:2] == (0, 1):
            options, complete, _ = _leads(av[2])
            options.add("")
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and av[0] >= 1:
            options, complete = _leads(av[2])[0], False
        else:
            return leads, False, read
        if len(leads) * len(options) > _MAX_LEADS:
            return leads, False, read
        leads = {lead + option for lead in leads for option in options}
        if not complete:
            return leads, False, read + 1
    return leads, True, len(items)


@dataclass(frozen=True, slots=True)
class Anchor:
    """``text`` is a whole word (``word``), the start of one, or (``literal``) a substring."""

    text: str
    word: bool = False
    literal: bool = False


def anchor(lead: str, at_word_start: bool) -> Anchor | None:
    """The most selective anchor in a literal every match holds: its longest word (not
    a function word if it can), else the literal itself. Inside a match, a word
    starts only after a non-word character."""
    runs = [m for m in WORD.finditer(lead) if at_word_start or m.start() > 0]
    if not runs:
        literal = lead.replace(_BOUNDARY, "")
        return Anchor(literal, literal=True) if literal else None
    best = max(runs, key=lambda m: (m.group() not in FUNCTION_WORDS, m.end() - m.start()))
    return Anchor(best.group(), word=best.end() < len(lead))


def _best(items: Any, at_word_start: bool) -> frozenset[Anchor] | None:
    """The most selective set of anchors one of which every match of ``items`` holds."""
    choices: list[frozenset[Anchor]] = []
    i = 0
    while i < len(items):
        op, av = items[i]
        if op in _ZERO_WIDTH:
            i += 1
            continue
        leads, _, read = _leads(items[i:])
        found = {anchor(lead, at_word_start) for lead in leads}
        if None not in found:
            choices.append(frozenset(a for a in found if a is not None))
        elif op is sre.SUBPATTERN and (inner := _best(av[3], at_word_start)) is not None:
            choices.append(inner)
        elif op is sre.BRANCH:
            parts = [_best(alternative, at_word_start) for alternative in av[1]]
            if all(part is not None for part in parts):
                choices.append(frozenset().union(*(part for part in parts if part)))
        i += max(read, 1)
        at_word_start = False
    # On a tie the later choice wins: what follows a pattern's opening is more specific.
    return max(reversed(choices), key=_selectivity, default=None)


def _selectivity(choice: frozenset[Anchor]) -> tuple[int, int, int]:
    """Fewest substring searches (each scans the text), fewest function words, longest."""
    return (
        -sum(a.literal for a in choice),
        -sum(a.text in FUNCTION_WORDS for a in choice),
        min(len(a.text) for a in choice),
    )


def anchors(pattern: str, *, at_word_start: bool = True) -> frozenset[Anchor] | None:
    """Anchors of ``pattern``, one of which every match contains; ``None``: none known.

    ``at_word_start``: the pattern only matches at a word start (see the module doc).
    """
    parsed = _parser.parse(pattern)
    if parsed.state.flags & re.IGNORECASE:
        return None
    return _best(list(parsed), at_word_start)


class Anchored:
    """One compiled regex, searched only when the text holds one of its anchors.

    ``at_word_start`` says the pattern itself only matches at a word start (a
    leading ``\\b``, ``^`` or ``(?<![a-z0-9])`` in every alternative).
    """

    def __init__(self, pattern: str, *, at_word_start: bool = True) -> None:
        self.regex = re.compile(pattern)
        found = anchors(pattern, at_word_start=at_word_start)
        self._always = found is None
        self._words = frozenset(a.text for a in found or () if a.word)
        # A word start is looked for as a substring: one C search beats a loop over words.
        # One that holds another ("numeroclient" holds "client") adds nothing to ``any``.
        substrings = {a.text for a in found or () if not a.word}
        self._substrings = tuple(
            sorted(s for s in substrings if not any(o != s and o in s for o in substrings))
        )

    def possible(self, words: AbstractSet[str], text: str) -> bool:
        """Whether ``text`` (its ``[a-z0-9]+`` runs: ``words``) holds an anchor."""
        return (
            self._always
            or not self._words.isdisjoint(words)
            or any(substring in text for substring in self._substrings)
        )

    def search(self, words: AbstractSet[str], text: str) -> re.Match[str] | None:
        """``regex.search(text)``, skipped when no anchor is in the text."""
        return self.regex.search(text) if self.possible(words, text) else None
