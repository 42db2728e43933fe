"""Offline language identification with the model shipped inside py3langid.

The identifier is restricted to the languages the lexicons cover (faster and
fewer absurd answers on short texts) and is built lazily, once per process.
A platform's own language hint wins when it names a supported language.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]

SUPPORTED: tuple[str, ...] = ("fr", "en", "es", "de")
_MIN_LETTERS = 3
_NOISE = re.compile(r"[@#]\w+|https?://\S+|www\.\S+")
_LETTERS = re.compile(r"[^\W\d_]")


@lru_cache(maxsize=1)
def _identifier() -> Any:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    identifier.set_languages(list(SUPPORTED))
    return identifier


def detect_language(text: str, hint: str | None = None) -> tuple[str | None, str]:
    """ISO-639-1 code (``None`` when there is nothing to read) and the reason for it."""
    if hint:
        code = hint.split("-")[0].lower()
        if code in SUPPORTED:
            return code, f"platform hint {hint!r}"
    cleaned = _NOISE.sub(" ", text)
    if len(_LETTERS.findall(cleaned)) < _MIN_LETTERS:
        return None, "too few letters to tell"
    code, score = _identifier().classify(cleaned)
    return str(code), f"py3langid {code} (log-prob {float(score):.0f})"
