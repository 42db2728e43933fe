"""Sentiment: negation, idioms, intensifiers, emojis, ALL CAPS and sarcasm."""

from __future__ import annotations

import pytest

from schemas.events import Sentiment
from streams.classify.sentiment import score_sentiment
from streams.classify.text import prepare


def label(text: str) -> Sentiment:
    return score_sentiment(prepare(text)).label


@pytest.mark.parametrize(
    "text",
    [
        "franchement pas mal du tout la nouvelle collection",
        "not bad at all, crew was lovely",
        "Pas déçu du tout, le repas était excellent",
        "No está nada mal, la tripulación muy amable",
        "Gar nicht schlecht! Netter Service.",
    ],
)
def test_negated_criticism_reads_as_positive(text: str) -> None:
    assert label(text) is Sentiment.POSITIVE


@pytest.mark.parametrize(
    "text",
    ["not great tbh, 2h delay", "Pas terrible. Plat froid.", "the quality is not good"],
)
def test_negated_praise_and_french_litotes_read_as_negative(text: str) -> None:
    assert label(text) is Sentiment.NEGATIVE


@pytest.mark.parametrize(
    "text",
    [
        "Bravo @auroreair, 6 h de retard 👏👏",
        "Great job, lost my bag AGAIN. Truly world class 👏",
        "Super la nouvelle appli, elle plante à chaque ouverture. Vraiment bravo 🤡",
        "Incroyable : 45 minutes d'attente au téléphone. Chapeau.",
        "Toll gemacht, schon wieder 4 Stunden Verspätung 👏",
    ],
)
def test_sarcastic_praise_about_a_bad_experience_is_negative(text: str) -> None:
    result = score_sentiment(prepare(text))
    assert result.label is Sentiment.NEGATIVE
    assert result.sarcasm


def test_sincere_praise_with_applause_stays_positive() -> None:
    assert label("Félicitations à toute l'équipe, belle réussite 👏") is Sentiment.POSITIVE


def test_thanks_after_an_unrelated_misfortune_is_not_sarcasm() -> None:
    result = score_sentiment(prepare("Perdu un chat roux, appelez-moi merci 🙏"))
    assert not result.sarcasm


def test_intensifier_strengthens_the_next_opinion_word() -> None:
    plain = score_sentiment(prepare("le service est bien")).score
    boosted = score_sentiment(prepare("le service est vraiment bien")).score
    assert boosted > plain


def test_all_caps_amplifies_anger() -> None:
    quiet = score_sentiment(prepare("troisième vélo en panne cette semaine")).score
    shouted = score_sentiment(prepare("TROISIÈME VÉLO EN PANNE CETTE SEMAINE")).score
    assert shouted < quiet < 0


def test_emojis_carry_sentiment_on_their_own() -> None:
    assert label("😍😍") is Sentiment.POSITIVE
    assert label("😡") is Sentiment.NEGATIVE


def test_a_plain_question_is_neutral() -> None:
    assert label("Quels sont vos horaires d'ouverture le samedi ?") is Sentiment.NEUTRAL


def test_courtesy_in_a_request_is_not_praise() -> None:
    assert label("can you send the receipt by mail? thx") is Sentiment.NEUTRAL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Encore des vols annulés à Nice ce matin", Sentiment.NEGATIVE),
        ("je fais mes courses chez Super U demain", Sentiment.NEUTRAL),
    ],
)
def test_a_name_capitalised_mid_sentence_in_french_is_not_an_opinion_word(
    text: str, expected: Sentiment
) -> None:
    assert score_sentiment(prepare(text), "fr").label is expected


def test_the_same_word_opening_a_sentence_or_in_english_is_still_an_opinion() -> None:
    assert score_sentiment(prepare("Nice flight, crew was great"), "en").label is Sentiment.POSITIVE
    assert score_sentiment(prepare("Super vol. Nice équipage"), "fr").label is Sentiment.POSITIVE
