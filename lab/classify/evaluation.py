"""Scoring a classifier against a labelled JSONL set (the ``vigie eval`` engine).

Each line is a normalized event plus ``expected`` (sentiment, intent, risks) and
``split`` ("tune" or "holdout"). Rules are tuned on "tune" only; "holdout" is the
untouched third whose figures are reported and guarded by CI floors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

import orjson

from core.classify import Classifier
from schemas.events import Intent, Risk, Sentiment, SocialEvent

L = TypeVar("L", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled event."""

    event: SocialEvent
    sentiment: Sentiment
    intent: Intent
    risks: frozenset[Risk]
    split: str


@dataclass(slots=True)
class LabelScore:
    """Counts for one label, one-vs-rest."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(slots=True)
class Report:
    """Per-label scores and confusion counts (expected, predicted) for one split."""

    cases: int = 0
    sentiment: dict[Sentiment, LabelScore] = field(
        default_factory=lambda: {s: LabelScore() for s in Sentiment}
    )
    intent: dict[Intent, LabelScore] = field(
        default_factory=lambda: {i: LabelScore() for i in Intent}
    )
    risks: dict[Risk, LabelScore] = field(default_factory=lambda: {r: LabelScore() for r in Risk})
    sentiment_confusion: Counter[tuple[Sentiment, Sentiment]] = field(default_factory=Counter)
    intent_confusion: Counter[tuple[Intent, Intent]] = field(default_factory=Counter)
    intent_correct: int = 0

    @property
    def sentiment_macro_f1(self) -> float:
        return sum(s.f1 for s in self.sentiment.values()) / len(self.sentiment)

    @property
    def intent_accuracy(self) -> float:
        return self.intent_correct / self.cases if self.cases else 0.0


def load_cases(path: Path, split: str = "all") -> list[Case]:
    """Labelled cases of ``split`` ("tune", "holdout" or "all"); raises on a bad line."""
    cases: list[Case] = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record = orjson.loads(line)
            if split != "all" and record.get("split") != split:
                continue
            expected = record.pop("expected")
            case_split = record.pop("split", "all")
            try:
                cases.append(
                    Case(
                        event=SocialEvent.model_validate(record),
                        sentiment=Sentiment(expected["sentiment"]),
                        intent=Intent(expected["intent"]),
                        risks=frozenset(Risk(r) for r in expected["risks"]),
                        split=case_split,
                    )
                )
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
    return cases


def _count(scores: dict[L, LabelScore], exp: L, got: L) -> None:
    for label, score in scores.items():
        if label == got and label == exp:
            score.tp += 1
        elif label == got:
            score.fp += 1
        elif label == exp:
            score.fn += 1


BATCH = 500


def evaluate(cases: Iterable[Case], classifier: Classifier) -> Report:
    """Classify every case (in batches, as the stream does) and score sentiment,
    intent and each risk label."""
    report = Report()
    batch: list[Case] = []
    for case in cases:
        batch.append(case)
        if len(batch) == BATCH:
            _score(report, batch, classifier)
            batch = []
    _score(report, batch, classifier)
    return report


def _score(report: Report, cases: list[Case], classifier: Classifier) -> None:
    if not cases:
        return
    results = classifier.classify_batch([case.event for case in cases])
    for case, result in zip(cases, results, strict=True):
        report.cases += 1
        _count(report.sentiment, case.sentiment, result.sentiment)
        _count(report.intent, case.intent, result.intent)
        report.sentiment_confusion[(case.sentiment, result.sentiment)] += 1
        report.intent_confusion[(case.intent, result.intent)] += 1
        report.intent_correct += case.intent == result.intent
        predicted = set(result.risks)
        for risk, score in report.risks.items():
            if risk in predicted and risk in case.risks:
                score.tp += 1
            elif risk in predicted:
                score.fp += 1
            elif risk in case.risks:
                score.fn += 1
