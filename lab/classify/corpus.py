"""The labelled corpus: messages written blind from ``docs/labelling.md``, split by writer.

``corpus/written/<writer>.jsonl`` holds each writer's lines as delivered (id, lang,
platform, kind, text, sentiment, intent, risks); ``corpus/splits.toml`` says which
writers train, which tune (dev) and which are only ever reported (test). Splitting
by writer keeps a writer's habits out of the split that scores the model.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from lab.classify.evaluation import Case
from schemas.events import Author, Intent, Risk, Sentiment, SocialEvent

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
SPLITS = ("train", "dev", "test")
_WRITTEN_AT = datetime(2026, 1, 1, tzinfo=UTC)


def writers(split: str, root: Path = CORPUS) -> list[str]:
    """The writers of ``split``, in the order ``splits.toml`` lists them."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (one of {', '.join(SPLITS)})")
    listed: list[str] = tomllib.loads((root / "splits.toml").read_text())[split]
    return listed


def case_of(record: dict[str, Any], split: str) -> Case:
    """A writer's line as an evaluation case: an event with no language hint, its labels."""
    event = SocialEvent(
        event_id=f"{record['platform']}:{record['id']}",
        platform=record["platform"],
        kind=record["kind"],
        author=Author(id=str(record["id"])),
        text=str(record["text"]),
        created_at=_WRITTEN_AT,
    )
    return Case(
        event=event,
        sentiment=Sentiment(record["sentiment"]),
        intent=Intent(record["intent"]),
        risks=frozenset(Risk(r) for r in record["risks"]),
        split=split,
    )


def load_split(split: str, root: Path = CORPUS) -> list[Case]:
    """Every case written by the writers of ``split``."""
    return [
        case_of(orjson.loads(line), split)
        for writer in writers(split, root)
        for line in (root / "written" / f"{writer}.jsonl").read_bytes().splitlines()
        if line.strip()
    ]


def hard_negatives(split: str, root: Path = CORPUS) -> dict[str, set[str]]:
    """Per risk, the event ids of ``split`` whose assignment was a hard negative for it
    (an idiom that sounds violent, a legal threat, criticism without insult, …)."""
    found: dict[str, set[str]] = {}
    for writer in writers(split, root):
        for line in (root / "specs" / f"{writer}.jsonl").read_bytes().splitlines():
            spec = orjson.loads(line)
            risk = spec["must_be"].get("not_a")
            if risk:
                found.setdefault(risk, set()).add(f"{spec['platform']}:{spec['id']}")
    return found


def fingerprint(splits: Iterable[str], root: Path = CORPUS) -> str:
    """SHA-256 of the split file and of every writer file of ``splits``: what a model
    was trained on, recorded in its artifact."""
    digest = hashlib.sha256((root / "splits.toml").read_bytes())
    for split in splits:
        for writer in writers(split, root):
            digest.update((root / "written" / f"{writer}.jsonl").read_bytes())
    return digest.hexdigest()
