"""``vigie train`` rebuilds the same artifact from the same corpus and encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.classify.model import OUTPUTS, LabelModel
from lab.classify.corpus import CORPUS, writers
from lab.classify.training import Recipe, train

SMALL = Recipe(hidden=8, max_iter=5)
pytestmark = pytest.mark.filterwarnings("ignore:Stochastic Optimizer:UserWarning")


def small_corpus(root: Path) -> Path:
    """Two train writers and one dev writer, 80 lines each, from the real corpus."""
    (root / "written").mkdir(parents=True)
    train_writers, dev_writer = writers("train")[:2], writers("dev")[0]
    for writer in [*train_writers, dev_writer]:
        lines = (CORPUS / "written" / f"{writer}.jsonl").read_bytes().splitlines()[:80]
        (root / "written" / f"{writer}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (root / "splits.toml").write_text(
        f"train = {train_writers!r}\ndev = [{dev_writer!r}]\ntest = []\n".replace("'", '"'))
    return root


def test_training_twice_on_the_same_corpus_writes_the_same_bytes(tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path / "corpus")
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    train(first, corpus, SMALL)
    train(second, corpus, SMALL)
    assert first.read_bytes() == second.read_bytes()


def test_a_trained_artifact_loads_and_scores_every_output(tmp_path: Path) -> None:
    artifact = tmp_path / "model.npz"
    metadata = train(artifact, small_corpus(tmp_path / "corpus"), SMALL)
    model = LabelModel(artifact)
    scores = model.score(["Merci pour votre aide !", ""], [[], []])
    assert scores.logits.shape == (2, len(OUTPUTS))
    assert np.isfinite(scores.logits).all()
    assert metadata["cases"] == 240
    assert set(metadata["dev"]) >= {"sentiment_macro_f1", "intent_accuracy", "threat_f1"}
