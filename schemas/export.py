"""JSON Schema export of the messages vigie exchanges with other tools.

The pydantic models are the source of truth; ``schemas/json/<name>.schema.json`` is
what downstream tools (helpdesk, CRM, pager) validate against without Python. The
files are committed and a unit test checks they equal :func:`render`, so they
cannot drift: after changing a model, run ``vigie schemas``.

Messages vigie publishes are exported in pydantic's *serialization* mode (what is
on the wire); ``tasks.status``, which other tools publish to vigie, in *validation*
mode (what vigie accepts).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel

from schemas.alerts import ALERT_SCHEMA, Alert
from schemas.deadletter import DEADLETTER_SCHEMA, DeadLetter
from schemas.events import EVENT_SCHEMA, ClassifiedEvent, SocialEvent
from schemas.tasks import TASK_SCHEMA, AlertSubject, ResponseTask, TaskStatus

JSON_DIR = Path(__file__).resolve().parent / "json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True, slots=True)
class Export:
    """One published schema: its name, model, mode, and title for readers."""

    name: str
    model: type[BaseModel]
    mode: Literal["serialization", "validation"]
    title: str

    @property
    def filename(self) -> str:
        return f"{self.name}.schema.json"


EXPORTS: tuple[Export, ...] = (
    Export(TASK_SCHEMA, ResponseTask, "serialization",
           "Response task (topic tasks.response)"),
    Export("vigie.task_status.v1", TaskStatus, "validation",
           "Task status reported by downstream tools (topic tasks.status)"),
    Export(ALERT_SCHEMA, Alert, "serialization", "Crisis alert (topic alerts)"),
    Export(EVENT_SCHEMA, SocialEvent, "serialization",
           "Normalized social event (topic events.normalized)"),
    Export("vigie.event.classified.v1", ClassifiedEvent, "serialization",
           "Normalized event with its classification (topic events.classified)"),
    Export(DEADLETTER_SCHEMA, DeadLetter, "serialization",
           "Input a stage refused, with the reason (topic deadletter)"),
)


def json_schema(export: Export) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one export.

    A task's ``event`` is typed ``dict`` in the model (it travels as received);
    the schema states what it is, the normalized event or, for a crisis task, the
    alert's subject, so consumers can rely on it.
    """
    body = export.model.model_json_schema(mode=export.mode, by_alias=True)
    schema: dict[str, Any] = {"$schema": DRAFT, "$id": export.filename, **body,
                              "title": export.title}
    if export.model is ResponseTask:
        defs = schema.setdefault("$defs", {})
        for model in (SocialEvent, AlertSubject):
            body = model.model_json_schema(mode=export.mode, by_alias=True)
            defs.update(body.pop("$defs", {}))
            defs[model.__name__] = body
        description = schema["properties"]["event"].get("description")
        schema["properties"]["event"] = {
            "anyOf": [{"$ref": "#/$defs/SocialEvent"}, {"$ref": "#/$defs/AlertSubject"}],
            "description": description}
    return schema


def render(export: Export) -> bytes:
    """The file content: indented, keys in model order, newline-terminated."""
    return orjson.dumps(json_schema(export), option=orjson.OPT_INDENT_2) + b"\n"


def stale(directory: Path = JSON_DIR) -> list[Path]:
    """Schema files missing from ``directory`` or different from the models."""
    return [
        directory / e.filename for e in EXPORTS
        if not (directory / e.filename).is_file()
        or (directory / e.filename).read_bytes() != render(e)
    ]


def write_all(directory: Path = JSON_DIR) -> list[Path]:
    """Write every schema into ``directory``; returns the files that changed."""
    directory.mkdir(parents=True, exist_ok=True)
    changed = stale(directory)
    for export in EXPORTS:
        path = directory / export.filename
        if path in changed:
            path.write_bytes(render(export))
    return changed
