"""Offline classification commands: ``vigie classify`` and ``vigie eval``.

Same classifier as the classify stream, on files. ``classify`` keeps the
contract of DESIGN.md: one output line per input line, in order, every original
key kept; a bad line becomes ``{"error", "line"}`` (and a note on stderr) so
line numbers stay aligned and the run continues.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from schemas.events import SocialEvent
from streams.classify import Classifier, default_classifier
from streams.classify.evaluation import LabelScore, Report, evaluate, load_cases
from streams.normalize import reason_of

err = Console(stderr=True, soft_wrap=True)
out = Console()


def classify_line(line: bytes, classifier: Classifier) -> dict[str, Any]:
    """The input object with the classification keys added; raises on a bad line."""
    record = orjson.loads(line)
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    result = classifier.classify(SocialEvent.model_validate(record))
    record.update(result.model_dump(mode="json"))
    return record


def _classify_stream(source: IO[bytes], sink: IO[bytes], classifier: Classifier) -> int:
    """Classify every line of ``source`` into ``sink``; returns the number of bad lines."""
    bad = 0
    for number, line in enumerate(source, start=1):
        try:
            if not line.strip():
                raise ValueError("empty line")
            record = classify_line(line, classifier)
        except Exception as exc:  # a bad line is reported, never fatal
            bad += 1
            reason = reason_of(exc, "event")
            err.print(f"line {number}: {reason}", markup=False, highlight=False)
            record = {"error": reason, "line": number}
        sink.write(orjson.dumps(record) + b"\n")
    return bad


def classify(
    file: Annotated[str, typer.Argument(help="Normalized-event JSONL file, or - for stdin.")] = "-",
) -> None:
    """Add lang, sentiment, intent, risks, priority, tags and reasons to each event line."""
    classifier = default_classifier()
    sink = sys.stdout.buffer
    if file == "-":
        bad = _classify_stream(sys.stdin.buffer, sink, classifier)
    else:
        with Path(file).open("rb") as source:
            bad = _classify_stream(source, sink, classifier)
    sink.flush()
    if bad:
        err.print(f"{bad} line(s) could not be classified", highlight=False)


def _scores_table(title: str, scores: dict[Any, LabelScore]) -> Table:
    table = Table("label", "precision", "recall", "F1", "support", title=title)
    for label, score in scores.items():
        table.add_row(
            str(label),
            f"{score.precision:.3f}",
            f"{score.recall:.3f}",
            f"{score.f1:.3f}",
            str(score.support),
        )
    return table


def _confusion_table(title: str, labels: list[Any], counts: dict[Any, int]) -> Table:
    table = Table("expected \\ predicted", *(str(label) for label in labels), title=title)
    for expected in labels:
        table.add_row(str(expected), *(str(counts.get((expected, got), 0)) for got in labels))
    return table


def _risk_confusion(report: Report) -> Table:
    table = Table("risk", "TP", "FP", "FN", "TN", title="Risks: one-vs-rest confusion")
    for risk, s in report.risks.items():
        tn = report.cases - s.tp - s.fp - s.fn
        table.add_row(str(risk), str(s.tp), str(s.fp), str(s.fn), str(tn))
    return table


def evaluate_file(
    file: Annotated[Path, typer.Argument(help="Labelled JSONL (event + expected + split).")],
    split: Annotated[str, typer.Option(help="Which split to score: holdout, tune or all.")] = "all",
) -> None:
    """Per-label precision/recall/F1 and confusion matrices of the default classifier."""
    if split not in {"holdout", "tune", "all"}:
        raise typer.BadParameter("split must be holdout, tune or all", param_hint="--split")
    report = evaluate(load_cases(file, split), default_classifier())
    out.print(f"[bold]{file}[/bold] split={split} cases={report.cases}")
    out.print(_scores_table("Sentiment", dict(report.sentiment)))
    out.print(
        _confusion_table(
            "Sentiment confusion", list(report.sentiment), dict(report.sentiment_confusion)
        )
    )
    out.print(_scores_table("Intent", dict(report.intent)))
    out.print(
        _confusion_table("Intent confusion", list(report.intent), dict(report.intent_confusion))
    )
    out.print(_scores_table("Risks", dict(report.risks)))
    out.print(_risk_confusion(report))
    out.print(
        f"sentiment macro-F1 = [bold]{report.sentiment_macro_f1:.3f}[/bold]   "
        f"intent accuracy = [bold]{report.intent_accuracy:.3f}[/bold]"
    )
