"""Crisis alerts (topic ``alerts``): the contract of DESIGN.md plus their explanation.

One incident is one ``alert_id``: exactly one ``open``, then ``update``s while it
grows, then one ``resolved``; ``sequence`` orders them. The contract fields come
first; the rest explains the alert to the person on call (why, where, since when).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import Platform, UtcDatetime

ALERT_SCHEMA: Literal["vigie.alert.v1"] = "vigie.alert.v1"


class AlertKind(StrEnum):
    SPIKE = "spike"
    SILENCE = "silence"


class AlertStatus(StrEnum):
    OPEN = "open"
    UPDATE = "update"
    RESOLVED = "resolved"


class Polarity(StrEnum):
    NEGATIVE = "negative"
    POSITIVE = "positive"
    MIXED = "mixed"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class TrajectoryPoint(BaseModel):
    """Events in one minute of the incident next to what the baseline expected."""

    model_config = ConfigDict(extra="forbid")

    minute: UtcDatetime
    count: int
    baseline: float


class TermExcess(BaseModel):
    """A term (word or hashtag) seen far more often than its usual share for the brand."""

    model_config = ConfigDict(extra="forbid")

    term: str
    count: int
    expected: float


class Alert(BaseModel):
    """A surge (``spike``) or a platform going dark (``silence``), explained."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_: Literal["vigie.alert.v1"] = Field(default=ALERT_SCHEMA, alias="schema")
    alert_id: str = Field(description="Incident id: the same on its open, updates and resolved.")
    kind: AlertKind
    status: AlertStatus
    brand: str | None = Field(description="Brand key; null for silence alerts.")
    platforms: list[Platform]
    polarity: Polarity | None = Field(description="Null for silence alerts.")
    window_start: UtcDatetime = Field(description="First minute of the abnormal window.")
    detected_at: UtcDatetime = Field(description="Event time at which the detector fired.")
    severity: Severity
    count: int = Field(description="Events counted since window_start (spam waves excluded).")
    baseline: float = Field(description="Events the baseline expected over the same minutes.")
    score: float = Field(description="Surprise, -log10 of the tail probability under the baseline.")
    top_terms: list[str]
    sample_event_ids: list[str]
    origin_event_id: str | None = Field(
        description="Earliest high-reach message of the surge (null for silence)."
    )
    # --- explanation ---
    sequence: int = Field(default=0, description="0 for open, then 1, 2, … per message.")
    summary: str = ""
    trajectory: list[TrajectoryPoint] = Field(default_factory=list)
    polarity_mix: dict[str, int] = Field(default_factory=dict)
    term_excess: list[TermExcess] = Field(default_factory=list)
    platform_counts: dict[str, int] = Field(default_factory=dict)
    discounted: int = Field(default=0, description="Spam-wave events left out of the count.")
