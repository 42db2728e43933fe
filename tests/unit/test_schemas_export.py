"""The committed JSON Schemas equal the models, and accept what the pipeline publishes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from base.settings import SlaSettings
from core.brands import BrandDirectory
from core.pipeline import encode
from core.route import route, route_alert
from lab.simulator import Simulator
from schemas.alerts import Alert, AlertKind, AlertStatus, Severity
from schemas.events import ClassifiedEvent, Intent, Kind, Priority, Sentiment
from schemas.export import EXPORTS, JSON_DIR, Export, render
from schemas.tasks import TaskStatus, TaskStatusValue
from tests.support.schemas import errors
from vigie.cli import app


@pytest.mark.parametrize("export", EXPORTS, ids=lambda e: e.name)
def test_the_committed_schema_file_equals_the_export_of_its_model(export: Export) -> None:
    assert (JSON_DIR / export.filename).read_bytes() == render(export), (
        "schemas/json is out of date: run `vigie schemas`")


def test_no_schema_file_is_left_without_a_model() -> None:
    assert {p.name for p in JSON_DIR.glob("*.json")} == {e.filename for e in EXPORTS}


@pytest.fixture(scope="module")
def classified() -> list[ClassifiedEvent]:
    """Simulated events, labelled so that every routed kind produces a task."""
    sim = Simulator(BrandDirectory.load(), seed=3)
    labels = {"sentiment": Sentiment.NEGATIVE, "intent": Intent.COMPLAINT,
              "priority": Priority.HIGH}
    return [ClassifiedEvent(**sim.event(sim.rng.choice(sim.platforms)).model_dump(), **labels)
            for _ in range(300)]


def test_tasks_the_router_publishes_validate_against_vigie_task_v1(
    classified: list[ClassifiedEvent],
) -> None:
    tasks = [t for e in classified if (t := route(e, SlaSettings())) is not None]

    assert tasks
    assert all(errors("vigie.task.v1", orjson.loads(encode(t))) == [] for t in tasks)


def test_a_task_without_its_schema_version_or_with_an_unknown_action_is_invalid(
    classified: list[ClassifiedEvent],
) -> None:
    task = next(t for e in classified if (t := route(e, SlaSettings())) is not None)
    message = orjson.loads(encode(task))

    assert errors("vigie.task.v1", {**message, "schema": "vigie.task.v0"})
    assert errors("vigie.task.v1", {**message, "action": "ignore"})
    assert errors("vigie.task.v1", {**message, "event": {"event_id": "x:1"}})


def test_normalized_and_classified_events_validate_against_their_schemas(
    classified: list[ClassifiedEvent],
) -> None:
    for event in classified[:50]:
        wire = orjson.loads(encode(event))
        assert errors("vigie.event.classified.v1", wire) == []
        assert errors("vigie.event.v1", wire) == []  # extra keys are allowed
    assert errors("vigie.event.v1", {"event_id": "x:1", "platform": "myspace", "kind": "post",
                                     "author": {"id": "1"}, "text": "",
                                     "created_at": "2026-11-03T10:00:00Z"})


@pytest.mark.parametrize("kind", list(AlertKind))
def test_spike_and_silence_alerts_validate_against_vigie_alert_v1(kind: AlertKind) -> None:
    spike = kind == AlertKind.SPIKE
    alert = Alert(
        alert_id=f"{kind.value}-1", kind=kind, status=AlertStatus.OPEN,
        brand="aurore_air" if spike else None, platforms=["x"],  # type: ignore[list-item]
        polarity="negative" if spike else None,  # type: ignore[arg-type]
        window_start=datetime(2026, 11, 3, 10, 6, tzinfo=UTC),
        detected_at=datetime(2026, 11, 3, 10, 7, tzinfo=UTC), severity=Severity.HIGH,
        count=21, baseline=3.0, score=9.8, top_terms=["nice"], sample_event_ids=["x:1"],
        origin_event_id="x:1" if spike else None,
    )
    message = alert.model_dump(mode="json", by_alias=True)

    assert errors("vigie.alert.v1", message) == []
    assert errors("vigie.alert.v1", {**message, "status": "closed"})
    if (crisis := route_alert(alert, SlaSettings())) is not None:
        task = orjson.loads(encode(crisis))
        assert errors("vigie.task.v1", task) == [], "the crisis task is a vigie.task.v1 too"
        assert errors("vigie.task.v1", {**task, "event": {**task["event"], "brand": 1}})
    assert (crisis is not None) == spike


def test_task_status_messages_from_downstream_tools_validate() -> None:
    status = TaskStatus(task_id="t1", status=TaskStatusValue.DONE,
                        at=datetime(2026, 11, 3, tzinfo=UTC))

    assert errors("vigie.task_status.v1", status.model_dump(mode="json")) == []
    assert errors("vigie.task_status.v1", {"task_id": "t1", "status": "lost", "at": "x"})


def test_vigie_schemas_writes_the_files_and_check_reports_drift(tmp_path: Path) -> None:
    runner = CliRunner()

    assert runner.invoke(app, ["schemas", "--out", str(tmp_path), "--check"]).exit_code == 1
    assert runner.invoke(app, ["schemas", "--out", str(tmp_path)]).exit_code == 0
    assert runner.invoke(app, ["schemas", "--out", str(tmp_path), "--check"]).exit_code == 0
    assert {p.name for p in tmp_path.iterdir()} == {e.filename for e in EXPORTS}
    assert Kind.DM.value in (tmp_path / "vigie.event.v1.schema.json").read_text()
