"""The default classifier end to end on single events: intent, risks, priority, reasons."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.events import Author, Intent, Kind, Platform, Priority, Risk, Sentiment, SocialEvent
from streams.classify import Classifier, default_classifier

CLASSIFIER = default_classifier()


def event(
    text: str,
    *,
    kind: Kind = Kind.MENTION,
    platform: Platform = Platform.X,
    brand: str | None = "aurore_air",
    followers: int = 100,
    lang: str | None = None,
) -> SocialEvent:
    return SocialEvent(
        event_id=f"{platform.value}:t1",
        platform=platform,
        kind=kind,
        brand=brand,
        author=Author(id="u1", handle="someone", followers=followers),
        text=text,
        created_at=datetime(2025, 3, 10, tzinfo=UTC),
        lang=lang,
    )


def test_default_classifier_satisfies_the_classifier_protocol() -> None:
    assert isinstance(CLASSIFIER, Classifier)


def test_a_question_that_is_really_a_grievance_is_a_complaint() -> None:
    result = CLASSIFIER.classify(event("Pourquoi ma facture a doublé ???"))
    assert result.intent is Intent.COMPLAINT
    assert result.sentiment is Sentiment.NEGATIVE


def test_a_neutral_question_is_a_question() -> None:
    result = CLASSIFIER.classify(event("Le vol AU1234 du 12/03 part bien du terminal 2E ?"))
    assert result.intent is Intent.QUESTION
    assert result.risks == []


def test_asking_the_price_with_a_wish_to_buy_is_purchase_intent() -> None:
    text = "il coûte combien le miroir rond ? je le veux absolument"
    assert CLASSIFIER.classify(event(text, kind=Kind.COMMENT)).intent is Intent.PURCHASE_INTENT


def test_praise_addressed_to_the_brand_is_praise() -> None:
    result = CLASSIFIER.classify(event("merci @auroreair, équipage adorable !"))
    assert (result.intent, result.sentiment) == (Intent.PRAISE, Sentiment.POSITIVE)


def test_criticism_of_a_company_is_not_hate_but_insulting_its_staff_is() -> None:
    criticism = CLASSIFIER.classify(event("votre conseiller est incompétent, service nul"))
    insult = CLASSIFIER.classify(event("votre conseiller est un gros enculé incompétent"))
    assert Risk.HATE not in criticism.risks
    assert Risk.HATE in insult.risks


def test_legal_action_is_not_a_threat_but_violence_is() -> None:
    legal = CLASSIFIER.classify(event("Je vais porter plainte et saisir le médiateur"))
    violent = CLASSIFIER.classify(event("je viens à l'agence et je vous plante un par un"))
    assert Risk.THREAT not in legal.risks
    assert "legal" in legal.tags
    assert Risk.THREAT in violent.risks
    assert violent.priority is Priority.CRITICAL


def test_figurative_violence_is_not_a_threat() -> None:
    result = CLASSIFIER.classify(event("this delay is killing me lol, 3 hours at the gate"))
    assert Risk.THREAT not in result.risks


def test_phishing_is_a_scam_not_spam_and_the_number_it_holds_stays_personal_data() -> None:
    text = (
        "Hi! Our support team will refund you. Please DM us your card number, expiry date "
        "and CVV at @AuroreAirHelpDesk24 or call +1 (202) 555-0147"
    )
    result = CLASSIFIER.classify(event(text, kind=Kind.REPLY))
    assert result.risks == [Risk.PERSONAL_DATA, Risk.SCAM]
    assert result.intent is Intent.OTHER
    assert result.sentiment is Sentiment.NEUTRAL


def test_follow_for_follow_is_spam_with_low_priority() -> None:
    result = CLASSIFIER.classify(event("suivez moi je follow back 100% 🔁 #f4f", kind=Kind.REPLY))
    assert result.risks == [Risk.SPAM]
    assert result.priority is Priority.LOW


def test_a_product_safety_incident_is_a_critical_crisis_signal() -> None:
    text = "Ma lampe Maison Lumen a pris feu cette nuit dans la chambre de mon fils"
    result = CLASSIFIER.classify(event(text, brand="maison_lumen"))
    assert Risk.CRISIS_SIGNAL in result.risks
    assert result.priority is Priority.CRITICAL


def test_a_news_article_reporting_a_crisis_stays_neutral_but_is_flagged() -> None:
    text = "Aurore Air jet makes emergency landing after engine failure, 3 passengers injured"
    result = CLASSIFIER.classify(event(text, kind=Kind.ARTICLE, platform=Platform.NEWS))
    assert result.risks == [Risk.CRISIS_SIGNAL]
    assert result.sentiment is Sentiment.NEUTRAL


def test_personal_data_in_public_is_high_priority_and_asks_for_a_private_reply() -> None:
    text = "@auroreair toujours rien, rappelez moi au 06 12 34 56 78"
    result = CLASSIFIER.classify(event(text))
    assert Risk.PERSONAL_DATA in result.risks
    assert result.priority is Priority.HIGH
    assert "private_reply" in result.tags
    assert "pii:phone" in result.tags


def test_risks_are_sorted() -> None:
    text = "Commande n°MLX-448812 : je vais brûler votre entrepôt, bande de connards"
    result = CLASSIFIER.classify(event(text))
    assert result.risks == sorted(result.risks)
    assert {Risk.HATE, Risk.THREAT, Risk.PERSONAL_DATA} <= set(result.risks)


def test_a_complaint_from_a_large_audience_is_escalated() -> None:
    small = CLASSIFIER.classify(event("Vol annulé, service nul", followers=50))
    large = CLASSIFIER.classify(event("Vol annulé, service nul", followers=40_000))
    assert small.priority is Priority.NORMAL
    assert large.priority is Priority.CRITICAL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bonjour, est-ce que les vélos sont disponibles le dimanche ?", "fr"),
        ("Is the savings rate guaranteed until the end of the year?", "en"),
        ("¿Hay bicis eléctricas disponibles en Madrid?", "es"),
        ("Gibt es eure E-Bikes auch in München?", "de"),
    ],
)
def test_language_is_detected_offline(text: str, expected: str) -> None:
    assert CLASSIFIER.classify(event(text)).lang == expected


def test_a_platform_language_hint_is_respected() -> None:
    assert CLASSIFIER.classify(event("ok", lang="de-DE")).lang == "de"


def test_every_label_comes_with_its_reasons() -> None:
    result = CLASSIFIER.classify(
        event("Bravo @auroreair, 6 h de retard 👏 rappelez moi au 06 12 34 56 78")
    )
    for key in ("lang", "sentiment", "intent", "priority", *(r.value for r in result.risks)):
        assert result.reasons[key], key
    assert any("sarcasm" in reason for reason in result.reasons["sentiment"])
