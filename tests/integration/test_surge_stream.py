"""The stream's surge agent raises the same alerts as ``vigie detect``, and a crisis task."""

from __future__ import annotations

from base.settings import Settings
from core.surge import SurgePipeline
from core.surge.observation import Observation
from lab.scenarios import scenario
from schemas.alerts import Alert, AlertStatus
from schemas.tasks import Action, ResponseTask
from tests.support.kafka_reader import read_to_end
from tests.support.publish import publish_observations
from tests.support.schemas import invalid_records
from tests.support.worker import eventually, running_worker


async def test_a_sharp_spike_fed_through_kafka_gives_the_offline_alerts_and_a_crisis_task(
    settings: Settings,
) -> None:
    spike = scenario("sharp_spike", seed=0)
    offline = SurgePipeline()
    observations: list[Observation] = []
    expected: list[Alert] = []
    for event in spike.events:
        observation = offline.observation(
            event_id=event.event_id, ts=event.created_at.timestamp(),
            platform=event.platform.value, brand=event.brand, text=event.text,
            author=event.author.id, followers=event.author.followers or 0,
            polarity=str((event.model_extra or {})["sentiment"]),
        )
        assert observation is not None
        observations.append(observation)
        expected.extend(observation.feed(offline.detector))
    assert expected[0].status == AlertStatus.OPEN

    await publish_observations(settings, observations)

    async with running_worker(settings) as services:
        async def all_alerts() -> bool:
            return services.metrics.stage_totals()["alerts"] >= len(expected)
        await eventually(all_alerts, within=120, what="the offline alerts from the stream")
        stored = await services.writer.query(
            "SELECT count(), countIf(status = 'open') FROM alerts")

    bootstrap = settings.kafka.bootstrap_servers
    records = read_to_end(bootstrap, settings.topics.alerts)
    assert invalid_records("vigie.alert.v1", records) == []
    published = [Alert.model_validate_json(m.value()) for m in records]
    assert [(a.alert_id, a.status, a.sequence, a.count) for a in published] == [
        (a.alert_id, a.status, a.sequence, a.count) for a in expected]
    assert stored.rows[0] == [len(expected), 1]
    tasks = read_to_end(bootstrap, settings.topics.tasks)
    assert invalid_records("vigie.task.v1", tasks) == []
    crisis = [t for m in tasks
              if (t := ResponseTask.model_validate_json(m.value())).action
              == Action.CRISIS_RESPONSE]
    assert len(crisis) == 1
    assert crisis[0].alert_id == expected[0].alert_id
    assert crisis[0].event["brand"] == "aurore_air"
