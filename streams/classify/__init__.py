"""Classify stage: language, sentiment, intent, risks, priority — with reasons.

Pure functions and a pluggable :class:`Classifier`; the Faust agent only decodes
events, calls ``classifier.classify(event)`` and emits. The default classifier
runs offline (lexicons, validators, a packaged language model) and fast enough
for one core to follow a busy stream. A machine-learning model plugs in by
implementing the same protocol.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from schemas.events import Classification, SocialEvent
from streams.classify.pii import PiiKind, PiiSpan, find_personal_data, mask_personal_data
from streams.classify.rules import RuleClassifier


@runtime_checkable
class Classifier(Protocol):
    """Anything that labels one event; must be pure and safe to call concurrently."""

    def classify(self, event: SocialEvent) -> Classification: ...


def default_classifier() -> Classifier:
    """The offline rule and lexicon classifier."""
    return RuleClassifier()


__all__ = [
    "Classifier",
    "PiiKind",
    "PiiSpan",
    "RuleClassifier",
    "default_classifier",
    "find_personal_data",
    "mask_personal_data",
]
