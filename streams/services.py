"""What the agents and the worker's web pages work with, built once per app."""

from __future__ import annotations

from dataclasses import dataclass

from base.metrics import Metrics
from base.settings import Settings
from core.pipeline import Pipeline
from sinks.writer import ClickHouseWriter
from streams.looplag import LoopLagProbe
from streams.rawfeed import RawFeed
from streams.tables import Tables
from streams.topics import Topics


@dataclass
class Services:
    """What the agents work with, built once per app by :func:`streams.app.create_app`."""

    settings: Settings
    topics: Topics
    tables: Tables
    pipeline: Pipeline
    writer: ClickHouseWriter
    metrics: Metrics
    raw_feed: RawFeed
    loop_lag: LoopLagProbe
