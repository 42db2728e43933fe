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
from rich.markup import escape
from rich.table import Table

from core.classify import Classifier, classify_each, default_classifier
from core.classify.model import ARTIFACT
from core.normalize import reason_of
from lab.classify.corpus import SPLITS, hard_negatives, load_split
from lab.classify.evaluation import Case, LabelScore, Report, evaluate, load_cases
from schemas.events import SocialEvent

err = Console(stderr=True, soft_wrap=True)
out = Console()


BATCH = 500


def _decode(line: bytes) -> tuple[dict[str, Any], SocialEvent]:
    """The input object and its event; raises on a bad line."""
    if not line.strip():
        raise ValueError("empty line")
    record = orjson.loads(line)
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    return record, SocialEvent.model_validate(record)


def _classify_stream(source: IO[bytes], sink: IO[bytes], classifier: Classifier) -> int:
    """Classify every line of ``source`` into ``sink``, a batch at a time, in order;
    returns the number of bad lines."""
    bad = 0
    numbers: list[int] = []
    decoded: list[tuple[dict[str, Any], SocialEvent] | Exception] = []

    def flush() -> None:
        nonlocal bad
        labels = iter(classify_each(
            classifier, [item[1] for item in decoded if not isinstance(item, Exception)]))
        for number, item in zip(numbers, decoded, strict=True):
            outcome = item if isinstance(item, Exception) else next(labels)
            if isinstance(outcome, Exception):
                bad += 1
                reason = reason_of(outcome, "event")
                err.print(f"line {number}: {reason}", markup=False, highlight=False)
                record: dict[str, Any] = {"error": reason, "line": number}
            else:
                record = item[0]  # type: ignore[index]
                record.update(outcome.model_dump(mode="json"))
            sink.write(orjson.dumps(record) + b"\n")
        numbers.clear()
        decoded.clear()

    for number, line in enumerate(source, start=1):
        numbers.append(number)
        try:
            decoded.append(_decode(line))
        except Exception as exc:  # a bad line is reported, never fatal
            decoded.append(exc)
        if len(decoded) == BATCH:
            flush()
    flush()
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
    file: Annotated[Path | None, typer.Argument(
        help="Labelled JSONL (event + expected); default: the corpus's test split.")] = None,
    split: Annotated[str, typer.Option(
        help="Corpus split (train, dev, test), or the lines of FILE whose split matches "
             "(all: every line).")] = "test",
) -> None:
    """Per-label precision/recall/F1 and confusion matrices of the default classifier."""
    if file is None:
        if split not in SPLITS:
            raise typer.BadParameter(f"split must be one of {', '.join(SPLITS)}",
                                     param_hint="--split")
        cases, source = load_split(split), f"corpus split={split}"
    else:
        cases, source = load_cases(file, "all" if split == "test" else split), str(file)
    report = evaluate(cases, default_classifier())
    out.print(f"[bold]{escape(source)}[/bold] cases={report.cases}")
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
    if file is None:
        out.print(_hard_negatives_table(cases, split))


def _hard_negatives_table(cases: list[Case], split: str) -> Table:
    """How many of the split's hard negatives for each risk got that risk anyway."""
    table = Table("risk", "hard negatives", "flagged", "share",
                  title="Hard negatives (messages written to look like a risk they are not)")
    by_id = {case.event.event_id: case for case in cases}
    classifier = default_classifier()
    for risk, ids in sorted(hard_negatives(split).items()):
        chosen = [by_id[i].event for i in sorted(ids) if i in by_id]
        flagged = sum(risk in (r.value for r in labels.risks)
                      for labels in classifier.classify_batch(chosen))
        table.add_row(risk, str(len(chosen)), str(flagged),
                      f"{flagged / len(chosen):.1%}" if chosen else "-")
    return table


def train(
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the artifact.")]
    = ARTIFACT,
) -> None:
    """Rebuild the classifier artifact from the corpus (train and dev splits) and the
    pinned encoder; needs the ``train`` extra."""
    from lab.classify.training import train as build

    metadata = build(out_path, progress=lambda line: err.print(line, highlight=False))
    err.print(f"wrote {out_path} ({out_path.stat().st_size / 1e6:.1f} MB), "
              f"{metadata['cases']} cases", highlight=False)
    out.print_json(orjson.dumps(metadata["dev"]).decode())
