"""Exact cues the learned model reads beside the words: links, promotions, view counts.

Each cue is a fact about the text that a pattern states without doubt (there is a
link shortener, a percentage off, a view count); the model learns what each one
weighs for each label, and the reasons name the cues that counted. The message's
platform and kind are cues too: a review is rarely a question, a chat line rarely
an article.
"""

from __future__ import annotations

import re

from schemas.events import Kind, Platform

# name: (pattern, substrings one of which any match holds, in the lower-cased text):
# most messages hold none, and an ``in`` test costs a fraction of a search.
_CUES: dict[str, tuple[re.Pattern[str], tuple[str, ...]]] = {
    "link": (re.compile(r"https?://|www\.|\b[a-z0-9-]+\.(?:com|fr|es|de|net|org|io|ly|me|co)/",
                        re.IGNORECASE), ("http", "www.", "/")),
    "short_link": (re.compile(
        r"\b(?:bit\.ly|tinyurl\.com|goo\.gl|t\.co|cutt\.ly|rb\.gy|is\.gd|ow\.ly|shorturl\.at"
        r"|tiny\.cc|wa\.me|t\.me|linktr\.ee)/", re.IGNORECASE), ("/",)),
    "odd_domain": (re.compile(
        r"\b[a-z0-9-]+\.(?:xyz|top|click|site|biz|info|online|live|icu|buzz|shop|store|vip"
        r"|win|support|help)\b", re.IGNORECASE), (".",)),
    "lookalike_domain": (re.compile(
        r"\b[a-z0-9]+-(?:secure|verif\w*|support|login|service|help|client|account"
        r"|kunden\w*|cliente\w*)\b", re.IGNORECASE), ("-",)),
    "handle": (re.compile(r"(?<![\w.])@\w{2,}"), ("@",)),
    "hashtag": (re.compile(r"(?<!\w)#\w{2,}"), ("#",)),
    "percent_off": (re.compile(r"-\s?\d{1,2}\s?%|\b\d{1,2}\s?%\s?(?:off|de r[ée]duc"
                               r"|de descuento|rabatt|de remise)", re.IGNORECASE), ("%",)),
    "promo_code": (re.compile(r"\b(?i:code|c[oó]digo|gutschein\w*)\s*:?\s*[A-Z][A-Z0-9]{3,}\b"),
                   ("code", "códi", "codi", "gutschein")),
    "view_count": (re.compile(
        r"\b\d+(?:[.,]\d+)?\s?(?:k|m|mio|millions?|millones|mille|000)?\s*(?:views|vues"
        r"|visualisations|vistas|reproducciones|aufrufe|shares|partages|retweets|rt|likes"
        r"|compartidos|geteilt)\b", re.IGNORECASE),
        ("view", "vue", "vista", "repro", "aufruf", "share", "partage", "rt", "like",
         "compartid", "geteilt")),
    "money": (re.compile(r"\d\s?(?:€|\$|£|eur\b|euros?\b|dollars?\b)|[€$£]\s?\d",
                         re.IGNORECASE), ("€", "$", "£", "eur", "dollar")),
    "question": (re.compile(r"\?|¿"), ("?", "¿")),
    "exclaim": (re.compile(r"!!|¡"), ("!!", "¡")),
    "shouting": (re.compile(r"\b[A-ZÀ-ÖØ-Þ]{4,}\b(?:\W+\b[A-ZÀ-ÖØ-Þ]{3,}\b)+"), ("",)),
}
CUE_NAMES: tuple[str, ...] = tuple(_CUES)
PLATFORM_CUES: tuple[str, ...] = tuple(f"platform:{p.value}" for p in Platform)
KIND_CUES: tuple[str, ...] = tuple(f"kind:{k.value}" for k in Kind)
PII_CUE = "personal_data_found"
FEATURES: tuple[str, ...] = (*CUE_NAMES, PII_CUE, *PLATFORM_CUES, *KIND_CUES)
"""Every cue the model reads, in the order of its input columns."""

_PATTERNS = [pattern for pattern, _ in _CUES.values()]
# One flat pass over every cue's substrings (a generator per cue cost more than the tests).
_NEEDLES = [(needle, column) for column, (_, needs) in enumerate(_CUES.values())
            for needle in needs]
_PLATFORM_COLUMN = {p: len(CUE_NAMES) + 1 + i for i, p in enumerate(Platform)}
_KIND_COLUMN = {k: len(CUE_NAMES) + 1 + len(PLATFORM_CUES) + i for i, k in enumerate(Kind)}


def cue_columns(text: str, platform: Platform, kind: Kind, personal_data: bool) -> list[int]:
    """The columns of :data:`FEATURES` that are on for this message."""
    low = text.lower()
    possible = sorted({column for needle, column in _NEEDLES if needle in low})
    on = [column for column in possible if _PATTERNS[column].search(text)]
    if personal_data:
        on.append(len(CUE_NAMES))
    on.append(_PLATFORM_COLUMN[platform])
    on.append(_KIND_COLUMN[kind])
    return on
