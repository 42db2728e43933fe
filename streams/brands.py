"""Which monitored brand an event concerns: by the account it was sent to, else by name.

Reactive messages (DMs, comments on the page, replies, @mentions) carry the brand
account they were addressed to; proactive ones (indirect mentions) are attributed
by the brand's names and hashtags found in the text.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from schemas.events import Platform


@dataclass(frozen=True, slots=True)
class Brand:
    key: str
    name: str
    aliases: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    accounts: dict[Platform, str] = field(default_factory=dict)
    competitor: bool = False


class BrandDirectory:
    """Resolves events to brand keys; built once from the brands file."""

    def __init__(self, brands: list[Brand]) -> None:
        self.brands = {b.key: b for b in brands}
        self._by_account = {
            (platform, account): b.key for b in brands for platform, account in b.accounts.items()
        }
        names: dict[str, str] = {}
        for b in brands:
            for variant in (b.name, *b.aliases, *b.hashtags):
                names[variant.casefold()] = b.key
        self._names = names
        # Longest variant first so "Nord Bank" wins over a shorter overlapping alias.
        alternatives = "|".join(re.escape(v) for v in sorted(names, key=len, reverse=True))
        self._pattern = re.compile(rf"(?<![\w#@])(?:{alternatives})(?!\w)", re.IGNORECASE)

    @classmethod
    def load(cls, path: Path | None = None) -> BrandDirectory:
        """Read a brands TOML file; without a path, the bundled demo brands."""
        if path is None:
            raw = resources.files("vigie").joinpath("brands.toml").read_text("utf-8")
        else:
            raw = path.read_text("utf-8")
        table = tomllib.loads(raw).get("brands", {})
        return cls(
            [
                Brand(
                    key=key,
                    name=spec.get("name", key),
                    aliases=tuple(spec.get("aliases", ())),
                    hashtags=tuple(spec.get("hashtags", ())),
                    accounts={Platform(p): str(a) for p, a in spec.get("accounts", {}).items()},
                    competitor=bool(spec.get("competitor", False)),
                )
                for key, spec in table.items()
            ]
        )

    def resolve(self, platform: Platform, addressed_to: str | None, text: str) -> str | None:
        """The brand key, or None when the event concerns no monitored brand."""
        if addressed_to is not None:
            key = self._by_account.get((platform, addressed_to))
            if key is not None:
                return key
        match = self._pattern.search(text)
        return self._names[match.group(0).casefold()] if match else None

    def account(self, brand: str, platform: Platform) -> str | None:
        b = self.brands.get(brand)
        return b.accounts.get(platform) if b else None
