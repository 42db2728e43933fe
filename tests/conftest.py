"""Shared fixtures: a real Kafka-protocol broker (Tansu) and fresh embedded ClickHouse dirs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigie.embedded import EmbeddedBroker


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """One Tansu broker for the whole session, on a free loopback port."""
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_file=log) as running:
        yield running


@pytest.fixture
def clickhouse_dir(tmp_path: Path) -> Path:
    """A fresh directory for an embedded ClickHouse (chdb) database."""
    return tmp_path / "clickhouse"


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic and group names, so tests never share state."""
    return uuid.uuid4().hex[:8]
