"""Which monitored brand an event concerns: by the account it was sent to, else by name.

Reactive messages (DMs, comments on the page, replies, @mentions) carry the brand
account they were addressed to; proactive ones (indirect mentions) are attributed
by the brand's names, aliases, listed misspellings and hashtags found in the text,
and then by names one typo away (edit distance 1 on a word, or on two words
written together). Everything is precompiled at load: one regex for exact names
and a deletion index for typos, so resolving costs a few dict lookups per word.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from schemas.events import Platform

FUZZY_MIN_LENGTH = 6
"""Shorter names are matched exactly only: one typo away from a short name is another word."""

_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Case- and accent-insensitive form used for every comparison (``Vélo`` → ``velo``)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _deletions(word: str) -> Iterator[str]:
    yield word
    for i in range(len(word)):
        yield word[:i] + word[i + 1 :]


def within_one_edit(a: str, b: str) -> bool:
    """Optimal-string-alignment distance ≤ 1: one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        swapped = a[i : i + 2] == b[i : i + 2][::-1]
        return a[i + 1 :] == b[i + 1 :] or (swapped and a[i + 2 :] == b[i + 2 :])
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return longer[i + 1 :] == shorter[i:]


@dataclass(frozen=True, slots=True)
class Brand:
    key: str
    name: str
    aliases: tuple[str, ...] = ()
    misspellings: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    accounts: dict[Platform, str] = field(default_factory=dict)
    """The primary account per platform (where the brand answers from)."""
    other_accounts: dict[Platform, tuple[str, ...]] = field(default_factory=dict)
    """More accounts that also identify the brand (regional pages, other groups)."""
    competitor: bool = False

    @property
    def variants(self) -> tuple[str, ...]:
        return (self.name, *self.aliases, *self.misspellings, *self.hashtags)

    def all_accounts(self) -> Iterator[tuple[Platform, str]]:
        yield from self.accounts.items()
        for platform, accounts in self.other_accounts.items():
            for account in accounts:
                yield platform, account


def _accounts(
    spec: Mapping[str, Any],
) -> tuple[dict[Platform, str], dict[Platform, tuple[str, ...]]]:
    """``x = "1"`` or ``facebook = ["1", "2"]``: the first is the primary account."""
    primary: dict[Platform, str] = {}
    others: dict[Platform, tuple[str, ...]] = {}
    for name, value in spec.items():
        platform = Platform(name)
        values = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        if values:
            primary[platform] = values[0]
            others[platform] = tuple(values[1:])
    return primary, others


class BrandDirectory:
    """Resolves events to brand keys; built once from the brands file."""

    def __init__(self, brands: Iterable[Brand]) -> None:
        self.brands = {b.key: b for b in brands}
        self._by_account = {
            (platform, account): b.key
            for b in self.brands.values()
            for platform, account in b.all_accounts()
        }
        names: dict[str, str] = {}
        typos: dict[str, set[tuple[str, str]]] = {}
        for b in self.brands.values():
            for variant in b.variants:
                names[fold(variant)] = b.key
                joined = "".join(_WORD.findall(fold(variant)))
                if len(joined) >= FUZZY_MIN_LENGTH:
                    for deletion in _deletions(joined):
                        typos.setdefault(deletion, set()).add((joined, b.key))
        self._names = names
        self._typos = {d: tuple(sorted(found)) for d, found in typos.items()}
        # One edit changes the length by one at most: longer words cannot match, and
        # their deletions would cost the square of their length (a 250,000-letter word
        # took 15 s).
        self._fuzzy_max_length = max((len(d) for d in self._typos), default=0) + 2
        # Longest variant first so "Nord Bank" wins over a shorter overlapping alias.
        alternatives = "|".join(re.escape(v) for v in sorted(names, key=len, reverse=True))
        self._pattern = re.compile(rf"(?<![\w#@])(?:{alternatives})(?!\w)") if names else None

    @classmethod
    def load(cls, path: Path | None = None) -> BrandDirectory:
        """Read a brands TOML file; without a path, the bundled demo brands."""
        if path is None:
            raw = resources.files("vigie").joinpath("brands.toml").read_text("utf-8")
        else:
            raw = path.read_text("utf-8")
        return cls.from_table(tomllib.loads(raw).get("brands", {}))

    @classmethod
    def from_table(cls, table: Mapping[str, Mapping[str, Any]]) -> BrandDirectory:
        brands = []
        for key, spec in table.items():
            primary, others = _accounts(spec.get("accounts", {}))
            brands.append(
                Brand(
                    key=key,
                    name=spec.get("name", key),
                    aliases=tuple(spec.get("aliases", ())),
                    misspellings=tuple(spec.get("misspellings", ())),
                    hashtags=tuple(spec.get("hashtags", ())),
                    accounts=primary,
                    other_accounts=others,
                    competitor=bool(spec.get("competitor", False)),
                )
            )
        return cls(brands)

    def resolve(self, platform: Platform, addressed_to: str | None, text: str) -> str | None:
        """The brand key, or None when the event concerns no monitored brand.

        Order: the account addressed, then the first exact name in the text, then
        the first word (or pair of words) one typo away from a name.
        """
        if addressed_to is not None:
            key = self._by_account.get((platform, addressed_to))
            if key is not None:
                return key
        folded = fold(text)
        if self._pattern is not None and (match := self._pattern.search(folded)):
            return self._names[match.group(0)]
        return self._fuzzy(_WORD.findall(folded))

    def _fuzzy(self, words: list[str]) -> str | None:
        for i, word in enumerate(words):
            candidates = [word]
            if i + 1 < len(words):
                candidates.append(word + words[i + 1])
            for candidate in candidates:
                if not FUZZY_MIN_LENGTH <= len(candidate) + 1 <= self._fuzzy_max_length:
                    continue
                for deletion in _deletions(candidate):
                    for name, key in self._typos.get(deletion, ()):
                        if within_one_edit(candidate, name):
                            return key
        return None

    def account(self, brand: str, platform: Platform) -> str | None:
        """The brand's primary account on ``platform`` (where it answers from)."""
        b = self.brands.get(brand)
        return b.accounts.get(platform) if b else None
