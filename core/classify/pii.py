"""Personal data in free text, found with real validators, as spans a sink can mask.

Each finder proposes candidates with a precompiled pattern and keeps only those a
validator accepts: IBAN mod-97 with per-country length, card numbers with Luhn,
phone numbers with libphonenumber (company lines — toll-free, shared-cost,
premium — are not personal), e-mail addresses that are not role mailboxes,
postal addresses with a postcode, customer/order/booking/contract references
introduced by their keyword, and dates introduced as a birth date. Prices, event
dates, times and flight numbers fail these checks by construction.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import PhoneNumberType

from core.classify.anchors import WORD, Anchored
from core.classify.text import fold


class PiiKind(StrEnum):
    EMAIL = "email"
    IBAN = "iban"
    CARD = "card"
    PHONE = "phone"
    ADDRESS = "address"
    REFERENCE = "reference"
    BIRTH_DATE = "birth_date"


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """``text[start:end]`` is personal data of ``kind``."""

    kind: PiiKind
    start: int
    end: int


# ISO 13616 lengths for the countries our customers bank in; others: 15..34.
_IBAN_LENGTH = {
    "AT": 20,
    "BE": 16,
    "CH": 21,
    "DE": 22,
    "DK": 18,
    "ES": 24,
    "FI": 18,
    "FR": 27,
    "GB": 22,
    "IE": 22,
    "IT": 27,
    "LU": 20,
    "MC": 27,
    "NL": 18,
    "NO": 15,
    "PL": 28,
    "PT": 25,
    "SE": 24,
}
# IBANs are written upper- or lowercase; separators are spaces or dashes.
_IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,30}\b")
# Card numbers start 2 (Mastercard 2221-2720), 3 (Amex, Diners, JCB), 4, 5 or 6, and
# are grouped by spaces, dashes or dots.
_CARD = re.compile(r"(?<![\w.,/])(?:2[2-7]|[3-6]\d)\d{2}(?:[ .-]?\d){9,15}(?![\w/])")
# A slash separates digits in dates too, so it counts only in the French pairs
# "06/12/34/56/78" (a date has three groups).
_PHONE = re.compile(
    r"(?<![\w/.,+])(?:\+|00)?\(?\d[\d .\-()]{6,18}\d(?![\w/]|[.,]\d)"
    r"|(?<![\w/])0\d(?:/\d\d){4}(?![\w/])"
)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b", re.IGNORECASE)
_ROLE_MAILBOX = re.compile(
    r"(?:support|contact|info|service|help|hello|sales|press|presse|noreply|no-reply)@"
)
_STREET_BEFORE_NAME = (
    r"(?:rue|avenue|av\.|boulevard|bd|place|allee|chemin|impasse|quai|route|cours|square"
    r"|passage)"
)
_STREET_AFTER_NAME = (
    r"(?:street|st|road|rd|lane|ln|drive|dr|close|way|crescent|terrace|court|avenue|ave"
    r"|boulevard|blvd|place)"
)
_ADDRESS = re.compile(
    r"\b\d{1,4}(?: ?(?:bis|ter|[a-d]))?,? (?:"
    + _STREET_BEFORE_NAME
    + r"|(?:[a-z]+ ){1,3}"
    + _STREET_AFTER_NAME
    + r")\b[^\n\d]{0,50}?"
    r"(?:\b\d{5} [a-z][a-z\-]+"  # FR / ES / DE postcode + city
    r"|\b[a-z]{1,2}\d[a-z\d]? ?\d[a-z]{2}\b"  # UK postcode
    r"|\b[a-z]{2} \d{5}(?:-\d{4})?\b)"  # US state + ZIP
    r"|\b(?:calle|avenida|plaza|[a-z]+(?:stra(?:ss|s)e|str\.|weg|platz|allee)) ?[^\n\d,]{0,30}?"
    r"\d{1,4}[a-z]?, ?\d{5} [a-z][a-z\-]+"
)
_REF_KEYWORD = (
    r"(?:(?:numero|n°|no) ?(?:de )?(?:client|commande|contrat|dossier|reservation|billet"
    r"|adherent|abonne)|(?:client|commande|contrat|dossier|cmd|reservation|abonne)"
    r"|reference(?: de (?:reservation|commande|dossier))?|code client"
    r"|order|booking|customer|account|contract|ticket number|e-?ticket|pnr|confirmation"
    r"|localizador|pedido|reserva|kundennummer|bestellnummer|buchungsnummer|vertragsnummer)"
)
_REFERENCE = Anchored(
    r"\b" + _REF_KEYWORD + r"(?: (?:number|ref|reference|id|code|no\.?))?"
    r" ?(?:is|est|es|ist|c'est|:|=)? ?(?:n°|#|no\.?)? ?"
    r"(?P<id>(?=[a-z\-]*\d)[a-z0-9][a-z0-9\-]{3,19}(?: \d{2,}){0,3})\b"
    # A structured reference after "n°"/"#" needs no keyword: "n° CT-2023-778154".
    r"|(?:n°|#) ?(?P<sid>[a-z]{1,4}-?\d[\d\-]{4,18})\b",
    at_word_start=False,  # "n°" and "#" need no word boundary
)
_MONTHS = (
    r"(?:janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre"
    r"|january|february|march|april|may|june|july|august|september|october|november|december"
    r"|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre"
    r"|diciembre|januar|februar|marz|juni|juli|oktober|dezember)"
)
_BIRTH_DATE = Anchored(
    r"\b(?:nee?|date de naissance|dob|date of birth|born(?: on)?|birthday|fecha de nacimiento"
    r"|nacid[oa]|geboren(?: am)?|geburtsdatum)\b[ :]*(?:le |on |am |el )?"
    r"(?P<date>\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}|\d{1,2}(?:er)? " + _MONTHS + r" \d{4}"
    r"|" + _MONTHS + r" \d{1,2},? \d{4})"
)
_PERSONAL_CUE = re.compile(
    r"(?:appel(?:ez|le)[- ]moi|rappel(?:ez|le)[- ]moi|joignable|numero|tel\b|tel\.|portable"
    r"|telephone|call me|text me|reach me|phone|cell|contact|whatsapp|llamame|telefono"
    r"|ruf mich|nummer|handy)\W*(?:\w+\W+){0,3}$"
)
_COMPANY_LINES = frozenset(
    {
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.UAN,
    }
)
_REGIONS_BY_LANG = {"fr": ("FR", "BE"), "en": ("GB", "US"), "es": ("ES",), "de": ("DE",)}
# A national number is read in the language's regions first, then in every other one:
# masking must not hang on the language detected (people write from abroad, and a
# short message's language is a guess).
_ALL_REGIONS = tuple(dict.fromkeys(r for regions in _REGIONS_BY_LANG.values() for r in regions))
_REGIONS_FOR = {
    lang: (*regions, *(r for r in _ALL_REGIONS if r not in regions))
    for lang, regions in _REGIONS_BY_LANG.items()
}
_DIGIT = re.compile(r"\d")
# Fewest digits each family can hold: IBANs (their check digits: an account number
# may be letters), other numbers (phone, card) and addresses.
_IBAN_DIGITS = 2
_NUMBER_DIGITS = 8
_ADDRESS_DIGITS = 3


def iban_is_valid(candidate: str) -> bool:
    """ISO 13616: known length for the country, then mod 97 of the rearranged digits == 1."""
    iban = candidate.replace(" ", "").replace("-", "").upper()
    expected = _IBAN_LENGTH.get(iban[:2])
    if (expected is not None and len(iban) != expected) or not 15 <= len(iban) <= 34:
        return False
    if not iban.isalnum():
        return False
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def luhn_is_valid(number: str) -> bool:
    """Luhn checksum over the digits of ``number`` (separators ignored), 13 to 19 digits."""
    digits = [int(c) for c in number if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _iban_span(match: re.Match[str]) -> tuple[int, int] | None:
    """The valid IBAN at the start of ``match``: a greedy match may run into the next word."""
    text = match.group()
    expected = _IBAN_LENGTH.get(text[:2].upper())
    if expected is None:
        return (match.start(), match.end()) if iban_is_valid(text) else None
    count = 0
    for i, char in enumerate(text):
        count += char.isalnum()
        if count == expected:
            return (match.start(), match.start() + i + 1) if iban_is_valid(text[: i + 1]) else None
    return None


def _phone_is_personal(candidate: str, regions: tuple[str, ...], cue: bool) -> bool:
    """A number valid in one of ``regions`` (or internationally) that is not a company line
    there (the same digits can be a French shared-cost line and a Spanish landline).

    Numbers libphonenumber only finds *possible* (fictional ranges, new blocks) count
    when the writer introduces them as their own ("call me on …").
    """
    digits = sum(c.isdigit() for c in candidate)
    if not 8 <= digits <= 15:
        return False
    international = candidate.startswith(("+", "00"))
    for region in (None,) if international else regions:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            if phonenumbers.number_type(number) not in _COMPANY_LINES:
                return True
            continue
        if cue and phonenumbers.is_possible_number(number):
            return True
    return False


def _free(taken: list[PiiSpan], start: int, end: int) -> bool:
    return all(end <= s.start or start >= s.end for s in taken)


def find_personal_data(
    text: str,
    *,
    folded: str | None = None,
    words: AbstractSet[str] | None = None,
    lang: str | None = None,
) -> list[PiiSpan]:
    """Spans of personal data in ``text``, sorted by position, never overlapping.

    ``folded`` and ``words`` are :func:`text.prepare`'s, when the caller has them.
    """
    digits = len(_DIGIT.findall(text))
    if not digits and "@" not in text:
        return []  # every kind but e-mail holds digits: most messages stop here
    low = fold(text) if folded is None else folded
    if words is None:
        words = frozenset(WORD.findall(low))
    spans: list[PiiSpan] = []
    if "@" in text:
        for m in _EMAIL.finditer(text):
            if not _ROLE_MAILBOX.match(m.group().lower()):
                spans.append(PiiSpan(PiiKind.EMAIL, m.start(), m.end()))
    if digits >= _IBAN_DIGITS:
        _find_ibans(text, spans)
    if digits >= _NUMBER_DIGITS:
        _find_cards(text, spans)
    for m in _BIRTH_DATE.regex.finditer(low) if _BIRTH_DATE.possible(words, low) else ():
        spans.append(PiiSpan(PiiKind.BIRTH_DATE, m.start("date"), m.end("date")))
    if digits >= _ADDRESS_DIGITS:
        for m in _ADDRESS.finditer(low):
            if _free(spans, m.start(), m.end()):
                spans.append(PiiSpan(PiiKind.ADDRESS, m.start(), m.end()))
    for m in _REFERENCE.regex.finditer(low) if _REFERENCE.possible(words, low) else ():
        group = "id" if m.group("id") is not None else "sid"
        ident = m.group(group)
        if _is_reference(ident) and _free(spans, m.start(group), m.end(group)):
            spans.append(PiiSpan(PiiKind.REFERENCE, m.start(group), m.end(group)))
    if digits >= _NUMBER_DIGITS:
        _find_phones(text, low, lang, spans)
    spans.sort(key=lambda s: s.start)
    return spans


def _find_ibans(text: str, spans: list[PiiSpan]) -> None:
    """IBANs, validated by checksum."""
    for m in _IBAN.finditer(text):
        if (span := _iban_span(m)) is not None:
            spans.append(PiiSpan(PiiKind.IBAN, *span))


def _find_cards(text: str, spans: list[PiiSpan]) -> None:
    """Card numbers, validated by checksum."""
    for m in _CARD.finditer(text):
        if luhn_is_valid(m.group()) and _free(spans, m.start(), m.end()):
            spans.append(PiiSpan(PiiKind.CARD, m.start(), m.end()))


def _find_phones(text: str, low: str, lang: str | None, spans: list[PiiSpan]) -> None:
    """Phone numbers not already inside another span (IBAN, card, reference)."""
    regions = _REGIONS_FOR.get(lang or "", _ALL_REGIONS)
    for m in _PHONE.finditer(text):
        start, end = m.start(), m.end()
        if not _free(spans, start, end):
            continue
        cue = _PERSONAL_CUE.search(low, max(0, start - 40), start) is not None
        if _phone_is_personal(m.group().strip(" .-"), regions, cue):
            spans.append(PiiSpan(PiiKind.PHONE, start, end))


def _is_reference(ident: str) -> bool:
    """An identifier, not a word or a small count: 4+ digits, or letters mixed with digits."""
    digits = sum(c.isdigit() for c in ident)
    letters = sum(c.isalpha() for c in ident)
    return digits >= 4 or (digits >= 1 and letters >= 1 and len(ident.replace("-", "")) >= 5)


def mask_personal_data(text: str, *, lang: str | None = None) -> str:
    """``text`` with every personal-data span replaced by ``[kind]``, for storage."""
    spans = find_personal_data(text, lang=lang)
    if not spans:
        return text
    parts: list[str] = []
    cursor = 0
    for span in spans:
        parts.append(text[cursor : span.start])
        parts.append(f"[{span.kind.value}]")
        cursor = span.end
    parts.append(text[cursor:])
    return "".join(parts)
