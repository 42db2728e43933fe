"""Classify stage: language, sentiment, intent, risks, priority — with reasons.

A learned model (:mod:`core.classify.model`, built by ``vigie train`` from the
blind-written corpus) labels opinions and risks; exact rules (:mod:`pii`
validators, :mod:`cues`) find personal data and feed facts to the model. The stage
labels a whole batch at once; the Faust agent only decodes events, calls the
classifier and emits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from core.classify.classifier import ModelClassifier
from core.classify.pii import PiiKind, PiiSpan, find_personal_data, mask_personal_data
from schemas.events import Classification, SocialEvent


@runtime_checkable
class Classifier(Protocol):
    """Anything that labels events; must be pure and safe to call concurrently."""

    def classify(self, event: SocialEvent) -> Classification: ...

    def classify_batch(self, events: Sequence[SocialEvent]) -> list[Classification]: ...


def classify_each(
    classifier: Classifier, events: Sequence[SocialEvent]
) -> list[Classification | Exception]:
    """Labels of ``events`` in one batch call; if the batch fails, event by event, so a
    bad event costs only itself (its exception takes its place)."""
    if not events:
        return []
    try:
        return list(classifier.classify_batch(events))
    except Exception:
        labels: list[Classification | Exception] = []
        for event in events:
            try:
                labels.append(classifier.classify(event))
            except Exception as exc:
                labels.append(exc)
        return labels


def default_classifier() -> Classifier:
    """The shipped model with the exact rules."""
    return ModelClassifier()


__all__ = [
    "Classifier",
    "ModelClassifier",
    "PiiKind",
    "PiiSpan",
    "classify_each",
    "default_classifier",
    "find_personal_data",
    "mask_personal_data",
]
