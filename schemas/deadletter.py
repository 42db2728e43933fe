"""Dead letters: an input vigie could not process, kept whole with the reason."""

from __future__ import annotations

import base64

from pydantic import BaseModel, Field

from schemas.events import UtcDatetime

DEADLETTER_SCHEMA = "vigie.deadletter.v1"


class DeadLetter(BaseModel):
    """The original bytes (base64), where they came from, and why they were refused."""

    schema_: str = Field(default=DEADLETTER_SCHEMA, alias="schema")
    stage: str = Field(description="Stage that refused the input, e.g. 'normalize'.")
    reason: str
    error_type: str
    platform: str | None = None
    source_topic: str
    partition: int
    offset: int
    key: str | None = None
    payload_b64: str
    failed_at: UtcDatetime

    @property
    def payload(self) -> bytes:
        return base64.b64decode(self.payload_b64)
