"""The default classifier on events: contract, batch, exact rules, reasons.

How well it labels is measured on the corpus's blind test split
(test_classify_eval.py); here, what must hold for any trained artifact.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from core.classify import Classifier, ModelClassifier, default_classifier
from core.classify.cues import cue_columns
from core.classify.model import OUTPUTS, shipped_model
from lab.classify.corpus import fingerprint
from lab.classify.training import ENCODER_FILES, ENCODER_VERSION
from schemas.events import Author, Intent, Kind, Platform, Priority, Risk, SocialEvent

CLASSIFIER = default_classifier()


def event(
    text: str,
    *,
    kind: Kind = Kind.MENTION,
    platform: Platform = Platform.X,
    followers: int = 100,
    lang: str | None = None,
    n: int = 1,
) -> SocialEvent:
    return SocialEvent(
        event_id=f"{platform.value}:t{n}",
        platform=platform,
        kind=kind,
        brand="aurore_air",
        author=Author(id="u1", handle="someone", followers=followers),
        text=text,
        created_at=datetime(2025, 3, 10, tzinfo=UTC),
        lang=lang,
    )


MIXED = [
    "Pourquoi ma facture a doublé ???",
    "merci @auroreair, équipage adorable !",
    "Follow my page for daily crypto signals, link in bio 🚀🚀",
    "rappelez moi au 06 12 34 56 78, dossier 4471",
    "",
    "😡😡😡",
    "Der Kundenservice hat mir sehr schnell geholfen, danke!",
    "¿Tenéis la talla 42 en tienda? La quiero comprar hoy",
]


def test_default_classifier_satisfies_the_classifier_protocol() -> None:
    assert isinstance(CLASSIFIER, Classifier)


def test_a_batch_gets_the_labels_each_event_gets_alone() -> None:
    events = [event(text, n=i) for i, text in enumerate(MIXED)]
    assert CLASSIFIER.classify_batch(events) == [CLASSIFIER.classify(e) for e in events]


def test_every_label_comes_with_its_reasons() -> None:
    for result in CLASSIFIER.classify_batch([event(text, n=i) for i, text in enumerate(MIXED)]):
        for key in ("lang", "sentiment", "intent", "priority", *(r.value for r in result.risks)):
            assert result.reasons[key], key
        assert result.reasons["sentiment"][0].startswith("model p=")
        assert result.risks == sorted(result.risks)


def test_a_logit_is_exactly_the_sum_of_its_word_and_cue_terms() -> None:
    model = shipped_model()
    texts = [text for text in MIXED if text]
    cues = [cue_columns(t, Platform.X, Kind.MENTION, personal_data=False) for t in texts]
    scores = model.score(texts, cues)
    for output in range(len(OUTPUTS)):
        terms = model.terms(scores, np.arange(len(texts)), np.full(len(texts), output))
        for i, found in enumerate(terms):
            total = found.constant + sum(t for _, t in found.words) + sum(t for _, t in found.cues)
            assert total == pytest.approx(float(scores.logits[i, output]), abs=1e-3)


def test_a_validated_phone_number_is_personal_data_whatever_the_model_says() -> None:
    result = CLASSIFIER.classify(event("@auroreair toujours rien, rappelez moi au 06 12 34 56 78"))
    assert Risk.PERSONAL_DATA in result.risks
    assert any(r.startswith("validator:phone@") for r in result.reasons["personal_data"])
    assert {"private_reply", "pii:phone"} <= set(result.tags)
    assert result.priority in {Priority.HIGH, Priority.CRITICAL}


def test_a_card_number_in_a_scam_report_is_still_personal_data() -> None:
    text = ("Arnaque !! un faux conseiller m'a fait donner ma carte 4970 1012 3456 7890 "
            "et mon code, appelez moi au 06 12 34 56 78")
    result = CLASSIFIER.classify(event(text, kind=Kind.DM))
    assert Risk.PERSONAL_DATA in result.risks


def test_reasons_never_quote_the_personal_data_they_travel_with() -> None:
    text = ("un faux conseiller m'a pris ma carte 4111.1111.1111.1111 et mon iban "
            "fr76 3000 6000 0112 3456 7890 189, écrivez à jeanne.martin@example.org "
            "ou au 06/12/34/56/78")
    result = CLASSIFIER.classify(event(text, kind=Kind.DM))
    quoted = " ".join(r for reasons in result.reasons.values() for r in reasons
                      if r.startswith("word:"))
    for private in ("4111", "fr76", "3000", "jeanne", "martin", "example", "06"):
        assert private not in quoted


def test_unmistakable_messages_get_their_obvious_labels() -> None:
    praise, threat, spam = CLASSIFIER.classify_batch([
        event("Merci beaucoup à toute l'équipe, service impeccable, je recommande !"),
        event("Je sais où habite votre directeur. Remboursez-moi ou je brûle l'agence."),
        event("Follow my page for daily crypto signals, link in bio 🚀🚀", kind=Kind.REPLY),
    ])
    assert praise.intent is Intent.PRAISE
    assert Risk.THREAT in threat.risks
    assert threat.priority is Priority.CRITICAL
    assert Risk.SPAM in spam.risks or Risk.SCAM in spam.risks


def test_reach_escalates_a_negative_voice() -> None:
    small, large = CLASSIFIER.classify_batch([
        event("Vol annulé sans prévenir, service nul, plus jamais", followers=50),
        event("Vol annulé sans prévenir, service nul, plus jamais", followers=40_000, n=2),
    ])
    assert large.priority is Priority.CRITICAL
    assert small.priority is not Priority.CRITICAL


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


def test_the_shipped_artifact_was_built_from_the_committed_corpus_and_the_pinned_encoder() -> None:
    metadata = shipped_model().metadata
    assert metadata["corpus_sha256"] == fingerprint(("train", "dev"))
    assert metadata["encoder"]["version"] == ENCODER_VERSION
    assert metadata["encoder"]["sha256"] == ENCODER_FILES


def test_an_explicit_model_can_be_injected() -> None:
    assert isinstance(ModelClassifier(shipped_model()), Classifier)
