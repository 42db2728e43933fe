"""Regression floors on the untouched holdout third of the labelled set.

Floors sit a little under the figures the rules reach today, so any change that
costs accuracy fails the build. The set itself is checked too: size, split,
contract labels and coverage of every label.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from schemas.events import Intent, Risk, Sentiment
from streams.classify import default_classifier
from streams.classify.evaluation import Report, evaluate, load_cases

EVAL_SET = Path(__file__).resolve().parents[1] / "data" / "classify_eval.jsonl"

SENTIMENT_MACRO_F1_FLOOR = 0.85
INTENT_ACCURACY_FLOOR = 0.87
RISK_F1_FLOORS = {
    Risk.PERSONAL_DATA: 0.95,
    Risk.SCAM: 0.95,
    Risk.SPAM: 0.95,
    Risk.HATE: 0.90,
    Risk.THREAT: 0.90,
    Risk.CRISIS_SIGNAL: 0.90,
}


@pytest.fixture(scope="module")
def holdout() -> Report:
    return evaluate(load_cases(EVAL_SET, "holdout"), default_classifier())


def test_eval_set_has_300_plus_cases_split_two_thirds_tune_one_third_holdout() -> None:
    cases = load_cases(EVAL_SET, "all")
    splits = Counter(case.split for case in cases)
    assert len(cases) >= 300
    assert set(splits) == {"tune", "holdout"}
    assert abs(splits["holdout"] / len(cases) - 1 / 3) < 0.02


def test_eval_set_represents_every_label_in_the_holdout() -> None:
    cases = load_cases(EVAL_SET, "holdout")
    assert {c.sentiment for c in cases} == set(Sentiment)
    assert {c.intent for c in cases} == set(Intent)
    risks = Counter(r for c in cases for r in c.risks)
    assert all(risks[r] >= 5 for r in Risk), risks


def test_holdout_sentiment_macro_f1_stays_above_floor(holdout: Report) -> None:
    assert holdout.sentiment_macro_f1 >= SENTIMENT_MACRO_F1_FLOOR


def test_holdout_intent_accuracy_stays_above_floor(holdout: Report) -> None:
    assert holdout.intent_accuracy >= INTENT_ACCURACY_FLOOR


@pytest.mark.parametrize("risk", list(RISK_F1_FLOORS))
def test_holdout_risk_f1_stays_above_floor(holdout: Report, risk: Risk) -> None:
    assert holdout.risks[risk].f1 >= RISK_F1_FLOORS[risk]
