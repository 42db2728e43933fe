"""Offline language identification: function words first, py3langid when unsure.

Most messages carry a few unambiguous function words ("le", "the", "und"); a
dictionary lookup per token settles them in microseconds. A single one settles a
text too ("Any code for students?") unless another supported language shares it:
on the tune split py3langid agreed with every such case, and it costs far more a
call. Mixed or function-word-free texts go to the model shipped inside
py3langid, restricted to the languages the lexicons cover and built lazily once
per process. A platform's own language
hint wins when it names a supported language.
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
# Function words that belong to one supported language only (folded forms).
_FUNCTION_WORDS = {
    "fr": "le les des du une est et je j pas vous nous pour avec dans cette qui mais tres mon ma"
    " mes c ca il elle au aux sont n d l qu ai merci bonjour votre vos suis chez",
    "en": "the and is are you your i my to of it this that with for was have what how why can"
    " will be at thanks not s i'm just been they from",
    "es": "el los las del por para una mi muy pero esta hay gracias hola lo y mis vuelo",
    "de": "der das und ist nicht ich ein eine mein meine mit fur auf zu wir bitte danke schon"
    " wieder warum wie den dem nie",
}
_LANG_OF: dict[str, str] = {
    w: lang for lang, words in _FUNCTION_WORDS.items() for w in words.split()
}
# The commonest words of every supported language: poor evidence on their own.
FUNCTION_WORDS: frozenset[str] = frozenset(_LANG_OF)
_DECISIVE_HITS = 2
# Listed for one language but just as common in another supported one (German "du",
# "des", "was"): never decisive alone.
_SHARED = frozenset({"du", "des", "was"})


@lru_cache(maxsize=1)
def _identifier() -> Any:
    full = LanguageIdentifier.from_model_file(MODEL_FILE)
    full.set_languages(list(SUPPORTED))
    # Built again from the restricted tables alone: the first one keeps every language's
    # table besides, to be able to widen again, and a worker never does.
    return LanguageIdentifier(full.nb_ptc, full.nb_pc, full.nb_classes, full.tk_nextmove,
                              full.tk_output, tk_row=full.tk_row)


def detect_language(
    text: str, tokens: tuple[str, ...] = (), hint: str | None = None
) -> tuple[str | None, str]:
    """ISO-639-1 code (``None`` when there is nothing to read) and the reason for it.

    ``tokens`` are the folded word tokens of ``text`` (see :mod:`text`), if at hand.
    """
    if hint:
        code = hint.split("-")[0].lower()
        if code in SUPPORTED:
            return code, f"platform hint {hint!r}"
    hits: dict[str, int] = {}
    lone = ""  # the function word, when there is exactly one
    for token in tokens:
        if (lang := _LANG_OF.get(token)) is not None:
            hits[lang] = hits.get(lang, 0) + 1
            lone = token
    if hits:
        ranked = sorted(hits.items(), key=lambda kv: kv[1], reverse=True)
        best, count = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0
        alone = count == 1 and not runner_up and lone not in _SHARED
        if alone or (count >= _DECISIVE_HITS and count >= 2 * runner_up + 1):
            return best, f"function words {dict(ranked)}"
    cleaned = _NOISE.sub(" ", text)
    if len(_LETTERS.findall(cleaned)) < _MIN_LETTERS:
        return None, "too few letters to tell"
    code, score = _identifier().classify(cleaned)
    return str(code), f"py3langid {code} (log-prob {float(score):.0f})"
