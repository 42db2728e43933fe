"""Integration fixtures: settings isolated per test, and a worker running in the test loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from base.settings import Settings
from tests.support.worker import isolated_settings
from vigie.embedded import EmbeddedBroker


@pytest.fixture
def settings(broker: EmbeddedBroker, clickhouse_dir: Path, unique: str) -> Settings:
    return isolated_settings(broker, clickhouse_dir, unique)


