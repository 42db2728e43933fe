"""Personal data: real validators, and look-alike numbers that must not fire."""

from __future__ import annotations

import pytest

from core.classify.pii import (
    PiiKind,
    find_personal_data,
    iban_is_valid,
    luhn_is_valid,
    mask_personal_data,
)


def kinds(text: str, lang: str | None = None) -> set[PiiKind]:
    return {span.kind for span in find_personal_data(text, lang=lang)}


def test_iban_mod97_accepts_valid_and_rejects_one_wrong_digit() -> None:
    assert iban_is_valid("FR76 3000 6000 0112 3456 7890 189")
    assert iban_is_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_is_valid("FR76 3000 6000 0112 3456 7890 188")


def test_iban_with_wrong_length_for_its_country_is_rejected() -> None:
    assert not iban_is_valid("DE89 3704 0044 0532 0130 0")


def test_luhn_accepts_test_cards_and_rejects_a_typo() -> None:
    assert luhn_is_valid("4111 1111 1111 1111")
    assert luhn_is_valid("5555-5555-5555-4444")
    assert not luhn_is_valid("4111 1111 1111 1112")


def test_card_number_failing_luhn_is_not_personal_data() -> None:
    assert PiiKind.CARD not in kinds("ma carte 4111 1111 1111 1112 est refusée")


def test_iban_in_a_message_is_found_and_stops_before_the_next_word() -> None:
    text = "Mon IBAN FR76 3000 6000 0112 3456 7890 189 a été débité"
    [span] = find_personal_data(text)
    assert span.kind is PiiKind.IBAN
    assert text[span.start : span.end] == "FR76 3000 6000 0112 3456 7890 189"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("rappelez moi au 06 12 34 56 78", "fr"),
        ("joignable au +33 7 81 22 45 90", "fr"),
        ("call me on +44 7700 900123", "en"),
        ("reach me at (415) 555-2671", "en"),
        ("Tel. +49 151 23456789", "de"),
    ],
)
def test_french_and_international_phone_numbers_are_personal_data(text: str, lang: str) -> None:
    assert kinds(text, lang) == {PiiKind.PHONE}


def test_a_company_freephone_line_is_not_personal_data() -> None:
    assert kinds("Appelez le service client au 0800 123 456", "fr") == set()


@pytest.mark.parametrize(
    "text",
    [
        "Le vol AU1234 du 12/03 part bien du terminal 2E ?",
        "Vol AU 7821 Paris-Montréal : embarquement porte K42 à 14h35, siège 23C",
        "1 299 € le billet en éco pour un vol retardé de 9h",
        "Paid $1,249.99 for business class",
        "Rendez-vous le 12/06/2025 au salon, stand B34 !",
        "Le prélèvement de 1 450,00 € du 05/02 correspond à quoi ?",
        "Nouvelle station au 24 rue de Rivoli dès le 01/09 : 30 vélos",
        "order of magnitude question: how many flights from CDG?",
        "vélo n°40213 freins HS à la station République",
        "my flight number is AU2045, is it delayed?",
    ],
)
def test_prices_flight_numbers_and_event_dates_are_not_personal_data(text: str) -> None:
    assert kinds(text) == set()


def test_a_date_introduced_as_a_birth_date_is_personal_data() -> None:
    assert kinds("née le 14/02/1991, mon profil bug") == {PiiKind.BIRTH_DATE}
    assert kinds("DOB 07/23/1985, can't log in") == {PiiKind.BIRTH_DATE}


def test_email_is_personal_data_but_a_role_mailbox_is_not() -> None:
    assert kinds("écrivez-moi à julie.martin84@gmail.com") == {PiiKind.EMAIL}
    assert kinds("write to support@nordbank.com") == set()


@pytest.mark.parametrize(
    "text",
    [
        "J'habite 14 rue des Lilas, 69003 Lyon",
        "I'm at 221B Baker Street, London NW1 6XE",
        "Hauptstraße 12, 10115 Berlin",
    ],
)
def test_postal_address_with_a_postcode_is_personal_data(text: str) -> None:
    assert kinds(text) == {PiiKind.ADDRESS}


@pytest.mark.parametrize(
    "text",
    [
        "Commande n°MLX-448812 jamais reçue",
        "ma référence de réservation c'est KJ7PQ2",
        "My booking reference is QX4RTL",
        "mon numéro client est 4587 2231",
        "mon contrat d'assurance n° CT-2023-778154",
        "meine Kundennummer ist 71234598",
    ],
)
def test_order_booking_customer_and_contract_references_are_personal_data(text: str) -> None:
    assert kinds(text) == {PiiKind.REFERENCE}


def test_masking_replaces_every_span_and_keeps_the_rest() -> None:
    masked = mask_personal_data("dossier 8XKQ2P, rappelez moi au 06 12 34 56 78 svp", lang="fr")
    assert masked == "dossier [reference], rappelez moi au [phone] svp"


def test_masking_text_without_personal_data_returns_it_unchanged() -> None:
    text = "Vol AU1234 retardé de 3 h, merci pour rien"
    assert mask_personal_data(text) is text


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("rembourser sur fr76 3000 6000 0112 3456 7890 189 svp", PiiKind.IBAN),
        ("iban: de89370400440532013000.", PiiKind.IBAN),
        ("ma carte 4111.1111.1111.1111 a été débitée", PiiKind.CARD),
        ("carte mastercard 2221 0000 0000 0009", PiiKind.CARD),
        ("appelez moi au 06/12/34/56/78", PiiKind.PHONE),
    ],
)
def test_lowercase_ibans_dotted_cards_and_slashed_phones_are_personal_data(
    text: str, kind: PiiKind
) -> None:
    assert kinds(text, "fr") == {kind}
    assert not any(c.isdigit() for c in mask_personal_data(text, lang="fr"))


def test_a_national_number_is_found_whatever_language_the_message_was_read_in() -> None:
    assert kinds("call me 06 12 34 56 78", "en") == {PiiKind.PHONE}
    assert kinds("llámame al 612 34 56 78", "fr") == {PiiKind.PHONE}


def test_a_date_with_slashes_and_a_time_is_not_a_phone_number() -> None:
    assert kinds("rendez-vous le 01/02/2023 12h30", "fr") == set()
