"""No message with a valid IBAN, card number, phone number or e-mail address leaves the
worker unmasked, whatever labels the classifier gives it.

Messages are built around one generated value (valid by its own checksum or numbering
plan, written as people write it: grouped or not, upper- or lowercase, dotted, slashed)
and run through the worker's pipeline from the raw payload on: the ClickHouse
``events.text`` column, the private task, and ``events.normalized`` /
``events.classified`` must hold it masked. The words around it hold no digit and no
``@``, so any digit or ``@`` left is a leak.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime

import orjson
import phonenumbers
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from base.settings import Settings
from core.brands import BrandDirectory
from core.pipeline import Pipeline, RawRecord, masked
from lab.encoders import ENCODERS
from lab.simulator import Simulator
from schemas.events import Kind, Platform

BRANDS = BrandDirectory.load()
SETTINGS = Settings()
[TEMPLATE] = [m.expected[0] for m in Simulator(
    BRANDS, seed=3, invalid_share=0, duplicate_share=0, platforms=(Platform.TELEGRAM,)
).messages(20) if m.expected and m.expected[0].kind is Kind.DM][:1]

IBAN_LENGTHS = {"FR": 27, "DE": 22, "GB": 22, "ES": 24, "IT": 27, "BE": 16, "NL": 18,
                "CH": 21, "LU": 20, "PT": 25}
CARD_SHAPES = [("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16),
               ("2720", 16), ("34", 15), ("37", 15), ("6011", 16), ("65", 19), ("35", 16),
               ("36", 14)]
PHONE_REGIONS = ["FR", "BE", "GB", "US", "ES", "DE"]
ROLE_MAILBOXES = {"support", "contact", "info", "service", "help", "hello", "sales", "press",
                  "presse", "noreply", "no-reply"}
WORDS = ["bonjour", "merci", "mon", "ma", "numéro", "est", "voici", "appelez", "moi", "au",
         "le", "svp", "carte", "iban", "colis", "remboursement", "je", "vous", "ai", "écrit",
         "commande", "client", "tel", "please", "call", "me", "my", "card", "is", "refund",
         "hola", "mi", "número", "es", "bitte", "meine", "nummer", "arnaque", "scam", "gagné",
         "bitcoin", "cadeau", "urgent", "compte", "bloqué", "here", "contact", "joignable"]


def grouped(value: str, separator: str, size: int = 4) -> str:
    return separator.join(value[i:i + size] for i in range(0, len(value), size))


@st.composite
def ibans(draw: st.DrawFn) -> str:
    country = draw(st.sampled_from(sorted(IBAN_LENGTHS)))
    bban = draw(st.text(string.digits + string.ascii_uppercase,
                        min_size=IBAN_LENGTHS[country] - 4, max_size=IBAN_LENGTHS[country] - 4))
    number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    iban = f"{country}{98 - number % 97:02d}{bban}"
    iban = grouped(iban, draw(st.sampled_from([" ", "", "-"])))
    return iban.lower() if draw(st.booleans()) else iban


def luhn_digit(partial: str) -> str:
    total = 0
    for i, c in enumerate(reversed(partial)):
        d = int(c) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str(-total % 10)


@st.composite
def cards(draw: st.DrawFn) -> str:
    prefix, length = draw(st.sampled_from(CARD_SHAPES))
    body = prefix + draw(st.text(string.digits, min_size=length - len(prefix) - 1,
                                 max_size=length - len(prefix) - 1))
    number = body + luhn_digit(body)
    if length == 15 and draw(st.booleans()):  # Amex is printed 4-6-5
        return f"{number[:4]} {number[4:10]} {number[10:]}"
    return grouped(number, draw(st.sampled_from([" ", "-", ".", ""])))


@st.composite
def phones(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(PHONE_REGIONS))
    kind = draw(st.sampled_from([PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE]))
    example = phonenumbers.example_number_for_type(region, kind)
    national = str(example.national_number)
    tail = draw(st.text(string.digits, min_size=4, max_size=4))
    number = phonenumbers.parse(national[:-4] + tail, region)
    assume(phonenumbers.is_valid_number(number))
    assume(phonenumbers.number_type(number) in (kind, PhoneNumberType.FIXED_LINE_OR_MOBILE))
    shape = draw(st.sampled_from(["e164", "international", "national", "pairs"]))
    if shape == "e164":
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if shape == "international":
        return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national_text = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    if shape == "pairs" and region == "FR":
        digits = "".join(c for c in national_text if c.isdigit())
        return grouped(digits, draw(st.sampled_from([" ", ".", "-", "/", ""])), 2)
    return national_text


@st.composite
def emails(draw: st.DrawFn) -> str:
    word = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
    local = draw(st.lists(word, min_size=1, max_size=3).map(
        lambda parts: draw(st.sampled_from([".", "_", "-", "+"])).join(parts)))
    assume(local not in ROLE_MAILBOXES)
    labels = draw(st.lists(st.text(string.ascii_lowercase + string.digits, min_size=1,
                                   max_size=10), min_size=1, max_size=3))
    tld = draw(st.text(string.ascii_lowercase, min_size=2, max_size=6))
    address = f"{local}@{'.'.join(labels)}.{tld}"
    return address.upper() if draw(st.integers(0, 5)) == 0 else address


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, str]:
    """A message holding one valid value; the value."""
    value = draw(st.one_of(ibans(), cards(), phones(), emails()))
    before = " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=6)))
    after = " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=6)))
    opening = draw(st.sampled_from([" ", ": ", " (", "\n", " : "]))
    closing = draw(st.sampled_from(["", " ", ".", ",", ")", " !", "\n", " ?"]))
    return f"{before}{opening}{value}{closing} {after}".strip(), value


def leaks(text: str, value: str) -> bool:
    if "@" in value:
        return "@" in text or value in text
    return any(c.isdigit() for c in text)


CI_CASES, FULL_CASES = 400, 5_000


def test_no_valid_iban_card_phone_or_email_leaves_the_worker_unmasked(full_size: bool) -> None:
    @settings(max_examples=FULL_CASES if full_size else CI_CASES, deadline=None,
              derandomize=not full_size, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(messages())
    def check(message: tuple[str, str]) -> None:
        text, value = message
        event = TEMPLATE.model_copy(update={"text": text, "created_at": datetime.now(UTC)})
        payload = orjson.dumps(ENCODERS[Platform.TELEGRAM](event))
        record = RawRecord(SETTINGS.topics.raw(Platform.TELEGRAM), 0, 0, b"k", payload)
        out = Pipeline(SETTINGS, BRANDS).process([record])
        [(classified, _)] = out.classified
        assert value in classified.text  # labels are whatever they are; masking is not
        published = [masked(e).text for e, _ in out.normalized] + [masked(classified).text]
        tasks = [task.event["text"] for task in out.tasks]
        assert tasks, "a DM to a brand calls for a task"
        # The worker stores in ClickHouse the events it publishes.
        for where, texts in (("topics and events.text", published), ("task", tasks)):
            leaked = [t for t in texts if leaks(t, value)]
            assert not leaked, f"{value!r} reached {where} unmasked: {leaked[0]!r}"

    check()
