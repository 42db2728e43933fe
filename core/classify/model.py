"""The learned labeller: a piece table distilled from a multilingual encoder, one hidden
layer, fourteen outputs, scored a whole batch at a time.

A message is cut into the encoder's SentencePiece pieces (lower-cased text, so
shouting and sentence case read like the rest). Each piece has a row in the table:
its encoder embedding already multiplied by the hidden layer's weights, so the
hidden layer's input is the weighted mean of the message's rows (a common piece such
as "de" or "the" weighs less than a rare one) plus the rows of its exact cues
(:mod:`core.classify.cues`). A ReLU and one output layer give the logits
of every label at once: three sentiments, five intents, six risks.

Because the mean is linear and the ReLU pattern is fixed once computed, each
label's logit is exactly a sum of one term per piece and one per cue plus a
constant: :meth:`LabelModel.contributions` returns those terms, and the reasons
name the words and cues that weighed most.

The artifact (``artifacts/classifier.npz``) is built by ``vigie train``
(:mod:`lab.classify.training`); it holds the tokenizer's model, so nothing is
read from elsewhere or downloaded at run time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import sentencepiece as spm  # type: ignore[import-untyped]
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from core.classify.cues import FEATURES
from schemas.events import Intent, Risk, Sentiment

ARTIFACT = Path(__file__).with_name("artifacts") / "classifier.npz"
SENTIMENTS: tuple[Sentiment, ...] = (Sentiment.NEGATIVE, Sentiment.NEUTRAL, Sentiment.POSITIVE)
INTENTS: tuple[Intent, ...] = (
    Intent.COMPLAINT, Intent.QUESTION, Intent.PRAISE, Intent.PURCHASE_INTENT, Intent.OTHER)
RISKS: tuple[Risk, ...] = (
    Risk.HATE, Risk.THREAT, Risk.SCAM, Risk.SPAM, Risk.PERSONAL_DATA, Risk.CRISIS_SIGNAL)
OUTPUTS: tuple[str, ...] = (
    *(f"sentiment:{s.value}" for s in SENTIMENTS),
    *(f"intent:{i.value}" for i in INTENTS),
    *(f"risk:{r.value}" for r in RISKS),
)
SENTIMENT_COLUMNS = slice(0, len(SENTIMENTS))
INTENT_COLUMNS = slice(len(SENTIMENTS), len(SENTIMENTS) + len(INTENTS))
RISK_COLUMNS = slice(len(SENTIMENTS) + len(INTENTS), len(OUTPUTS))
WORD_START = "\u2581"  # SentencePiece marks the first piece of a word with it

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]


def pieces_of(processor: spm.SentencePieceProcessor, texts: Sequence[str]) -> list[list[int]]:
    """Piece ids of each text, lower-cased first (training and scoring share this)."""
    ids: list[list[int]] = processor.encode([text.lower() for text in texts])
    return ids


def segment_starts(lengths: Ints) -> Ints:
    """Offset of each message's first piece in the flat piece array."""
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return starts


def pool(rows: Floats, weights: Floats,
         lengths: Ints) -> tuple[Floats, Floats]:
    """Weighted mean row of each message (zeros for a message with no weight), and each
    piece's row times its share of its message's weight (the terms of that mean;
    ``rows`` is overwritten with them)."""
    starts = segment_starts(lengths)
    filled = lengths > 0
    totals = np.zeros(len(lengths), dtype=np.float32)
    totals[filled] = np.add.reduceat(weights, starts[filled])
    per_piece_total = np.repeat(totals, lengths)
    share = np.divide(weights, per_piece_total, out=np.zeros_like(weights),
                      where=per_piece_total > 0)
    weighted = np.multiply(rows, share[:, None], out=rows)
    return segment_sums(weighted, starts, lengths), weighted


def segment_sums(rows: Floats, starts: Ints, lengths: Ints) -> Floats:
    """Sum of each message's rows, added position by position (the k-th piece of every
    message at least k + 1 pieces long, in one step): numpy's reduceat over rows is
    several times slower."""
    order = np.argsort(-lengths, kind="stable")
    longest_first, first_piece = lengths[order], starts[order]
    sums = np.zeros((len(lengths), rows.shape[1]), dtype=np.float32)
    for k in range(int(longest_first[0]) if len(lengths) else 0):
        count = int(np.count_nonzero(longest_first > k))
        sums[order[:count]] += rows[first_piece[:count] + k]
    return sums


def mean_rows(table: npt.NDArray[Any], weights: Floats, row_of: npt.NDArray[np.int32],
              ids: Sequence[Sequence[int]]) -> Floats:
    """Weighted mean table row of each message's pieces (see :func:`pool`).

    ``row_of`` maps a piece id to its table row; the last row is all zeros with no
    weight and stands for the pieces the table leaves out (scripts the labels were
    not trained on)."""
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
    rows = row_of[flat]
    return pool(table[rows].astype(np.float32), weights[rows], lengths)[0]


@dataclass(frozen=True, slots=True)
class Scores:
    """One batch's output: logits (messages × :data:`OUTPUTS`), and what
    :meth:`LabelModel.terms` needs to split a logit into its terms."""

    logits: Floats
    pieces: npt.NDArray[np.int64]  # every message's piece ids, end to end
    lengths: npt.NDArray[np.int64]  # pieces per message
    piece_terms: Floats  # each piece's scaled table row times its share of the mean
    active: npt.NDArray[np.bool_]  # hidden units on, per message
    cues: list[list[int]]

    @property
    def probabilities(self) -> Floats:
        return (1.0 / (1.0 + np.exp(-self.logits))).astype(np.float32)


Term = tuple[str, float]


@dataclass(frozen=True, slots=True)
class Terms:
    """A logit split exactly: ``constant + sum(words) + sum(cues)``."""

    words: list[Term]  # one per word occurrence, in text order
    cues: list[Term]
    constant: float


class LabelModel:
    """The artifact loaded once per process; scoring is pure and thread-safe."""

    def __init__(self, path: Path = ARTIFACT) -> None:
        # A worker is one thread and scores small batches: BLAS threads would only spin
        # against it, and the batch's small products would cost more, not less.
        threadpool_limits(limits=1, user_api="blas")
        with np.load(path, allow_pickle=False) as archive:
            data = {name: archive[name] for name in archive.files}
        self.processor = spm.SentencePieceProcessor(model_proto=data["tokenizer"].tobytes())
        self.row_of: npt.NDArray[np.int32] = data["row_of"]
        self.table: npt.NDArray[np.int8] = data["table"]
        self.table_scale: Floats = data["table_scale"]
        self.piece_weight: Floats = data["piece_weight"]
        self.cue_weights: Floats = data["cue_weights"]
        self.hidden_bias: Floats = data["hidden_bias"]
        self.out_weights: Floats = data["out_weights"]
        self.out_bias: Floats = data["out_bias"]
        self.thresholds: Floats = data["risk_thresholds"]
        self.metadata: dict[str, Any] = json.loads(str(data["metadata"]))
        self.starts_word = np.array([
            self.processor.id_to_piece(i).startswith(WORD_START)
            for i in range(self.processor.get_piece_size())])
        # The reasons spell words out of pieces: a look-up through the tokenizer per
        # piece cost more than the words' scores; the pieces in use are few.
        self._piece_text = lru_cache(maxsize=1 << 15)(self.processor.id_to_piece)

    def score(self, texts: Sequence[str], cues: list[list[int]]) -> Scores:
        """Logits of every output for each text; ``cues[i]`` are the cue columns
        on for text ``i`` (see :func:`core.classify.cues.cue_columns`)."""
        ids = pieces_of(self.processor, texts)
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        pieces = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
        rows = self.row_of[pieces]
        table_rows = self.table[rows].astype(np.float32)
        table_rows *= self.table_scale
        hidden, piece_terms = pool(table_rows, self.piece_weight[rows], lengths)
        hidden += self.hidden_bias
        on = np.zeros((len(cues), len(self.cue_weights)), dtype=np.float32)
        on[np.repeat(np.arange(len(cues)), [len(c) for c in cues]),
           list(chain.from_iterable(cues))] = 1.0
        hidden += on @ self.cue_weights
        active = hidden > 0
        np.maximum(hidden, 0, out=hidden)
        logits = hidden @ self.out_weights
        logits += self.out_bias
        return Scores(logits, pieces, lengths, piece_terms, active, cues)

    def _word_terms(self, scores: Scores, messages: Ints, outputs: Ints) -> tuple[
            Floats, Ints, Ints, Ints, Floats]:
        """For each (message, output) pair: each word's term in the logit, the pair of
        each word, the first piece of each word (and the end), the pieces, and each
        pair's direction in the hidden layer."""
        direction = self.out_weights[:, outputs].T * scores.active[messages]
        lengths = scores.lengths[messages]
        offsets = segment_starts(lengths)
        pair_of = np.repeat(np.arange(len(messages)), lengths)
        index = (np.arange(int(lengths.sum())) - offsets[pair_of]
                 + segment_starts(scores.lengths)[messages][pair_of])
        per_piece = np.einsum("nh,nh->n", scores.piece_terms[index], direction[pair_of])
        pieces = scores.pieces[index]
        first = self.starts_word[pieces]
        first[offsets[lengths > 0]] = True
        word_terms = np.bincount(np.cumsum(first) - 1, weights=per_piece).astype(np.float32)
        word_starts = np.append(np.flatnonzero(first), len(pieces))
        return word_terms, pair_of[first], word_starts, pieces, direction

    def _word(self, pieces: Ints, start: int, end: int) -> str:
        word = "".join(map(self._piece_text, pieces[start:end].tolist()))
        return word.replace(WORD_START, " ").strip()

    def terms(self, scores: Scores, messages: Ints, outputs: Ints) -> list[Terms]:
        """For each pair (``messages[i]``, ``outputs[i]``), the exact terms of that
        message's logit of that output.

        With the message's ReLU pattern fixed the logit is a sum of one term per
        piece, one per cue and a constant; a word's term is the sum of its pieces'."""
        word_terms, word_pair, word_starts, pieces, direction = self._word_terms(
            scores, messages, outputs)
        constants = direction @ self.hidden_bias + self.out_bias[outputs]
        found = [Terms([], [(FEATURES[c], float(self.cue_weights[c] @ direction[i]))
                            for c in scores.cues[m]], float(constants[i]))
                 for i, m in enumerate(messages.tolist())]
        for w, pair in enumerate(word_pair.tolist()):
            text = self._word(pieces, int(word_starts[w]), int(word_starts[w + 1]))
            found[pair].words.append((text, float(word_terms[w])))
        return found

    def explain(self, scores: Scores, messages: Ints, outputs: Ints,
                top: int = 3) -> list[tuple[list[Term], list[Term]]]:
        """For each pair (``messages[i]``, ``outputs[i]``), the words and the cues that
        raised that logit most, largest first (positive terms only)."""
        word_terms, word_pair, word_starts, pieces, direction = self._word_terms(
            scores, messages, outputs)
        explained: list[tuple[list[Term], list[Term]]] = [([], []) for _ in range(len(messages))]
        chosen = _top_positive(word_terms, word_pair, len(messages), top)
        for pair, term, start, end in zip(
                word_pair[chosen].tolist(), word_terms[chosen].tolist(),
                word_starts[chosen].tolist(), word_starts[chosen + 1].tolist(), strict=True):
            explained[pair][0].append((self._word(pieces, start, end), term))
        counts = [len(scores.cues[m]) for m in messages.tolist()]
        cue_pair = np.repeat(np.arange(len(messages)), counts)
        cue_column = np.fromiter(chain.from_iterable(scores.cues[m] for m in messages.tolist()),
                                 dtype=np.int64, count=len(cue_pair))
        cue_terms = np.einsum("nh,nh->n", self.cue_weights[cue_column], direction[cue_pair])
        chosen = _top_positive(cue_terms, cue_pair, len(messages), top)
        for pair, column, term in zip(cue_pair[chosen].tolist(), cue_column[chosen].tolist(),
                                      cue_terms[chosen].tolist(), strict=True):
            explained[pair][1].append((FEATURES[column], term))
        return explained


def _top_positive(values: Floats, groups: Ints, n_groups: int, top: int) -> Ints:
    """Indices of each group's ``top`` largest positive values, by group, largest first."""
    order = np.lexsort((-values, groups))
    ranked = groups[order]
    rank = np.arange(len(order)) - np.searchsorted(ranked, np.arange(n_groups))[ranked]
    chosen: Ints = order[(rank < top) & (values[order] > 0)]
    return chosen


@cache
def shipped_model() -> LabelModel:
    """The packaged artifact, loaded on first use and shared by the process."""
    return LabelModel()
