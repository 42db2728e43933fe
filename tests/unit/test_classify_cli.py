"""``vigie classify`` / ``vigie eval`` contracts, without a subprocess."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
from typer.testing import CliRunner

from core.classify import default_classifier
from vigie.cli import app
from vigie.commands.classify import _classify_stream

GOOD = {
    "event_id": "x:1",
    "platform": "x",
    "kind": "mention",
    "brand": "aurore_air",
    "author": {"id": "u1", "handle": "h", "followers": 10},
    "text": "Bravo @auroreair, 6 h de retard 👏",
    "created_at": "2025-03-10T08:00:00Z",
    "custom": {"kept": True},
}
CLASSIFICATION_KEYS = {"lang", "sentiment", "intent", "risks", "priority", "tags", "reasons"}


def run(lines: list[bytes]) -> list[dict[str, object]]:
    sink = io.BytesIO()
    _classify_stream(io.BytesIO(b"\n".join(lines) + b"\n"), sink, default_classifier())
    return [orjson.loads(line) for line in sink.getvalue().splitlines()]


def test_classify_keeps_every_original_key_and_adds_the_classification() -> None:
    [out] = run([orjson.dumps(GOOD)])
    assert {k: out[k] for k in GOOD} == GOOD
    assert set(out) >= CLASSIFICATION_KEYS
    assert out["sentiment"] == "negative"


def test_classify_writes_one_line_per_input_line_in_order_even_for_bad_lines() -> None:
    second = {**GOOD, "event_id": "x:2", "text": "merci, équipage adorable"}
    out = run([orjson.dumps(GOOD), b"{not json", b"", b'{"event_id": "x:3"}', orjson.dumps(second)])
    assert len(out) == 5
    assert out[0]["event_id"] == "x:1"
    assert out[1]["line"] == 2
    assert "not valid JSON" in str(out[1]["error"])
    assert out[2] == {"error": "empty line", "line": 3}
    assert out[3]["line"] == 4
    assert "invalid field" in str(out[3]["error"])
    assert out[4]["event_id"] == "x:2"


def test_eval_command_prints_scores_and_confusion_matrices(tmp_path: Path) -> None:
    labelled = {**GOOD, "expected": {"sentiment": "negative", "intent": "complaint", "risks": []}}
    path = tmp_path / "set.jsonl"
    path.write_bytes(orjson.dumps({**labelled, "split": "holdout"}) + b"\n")
    result = CliRunner().invoke(app, ["eval", str(path), "--split", "holdout"])
    assert result.exit_code == 0, result.output
    assert "Sentiment confusion" in result.output
    assert "macro-F1" in result.output
    assert "personal_data" in result.output
