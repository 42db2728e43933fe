"""Topics as vigie creates them, read back with an independent client (confluent-kafka)."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient, ConfigResource

from vigie.kafka import create_topics
from vigie.settings import Settings


async def test_raw_topics_holding_unmasked_payloads_get_the_configured_retention(
    settings: Settings,
) -> None:
    configured = settings.model_copy(update={
        "topics": settings.topics.model_copy(update={"raw_retention_hours": 36})})
    await create_topics(configured)
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    raw, other = settings.topics.all_raw()[0], settings.topics.tasks
    found = admin.describe_configs([ConfigResource("topic", raw), ConfigResource("topic", other)])
    retention = {resource.name: {k: v.value for k, v in future.result(timeout=30).items()}
                 .get("retention.ms") for resource, future in found.items()}
    assert retention[raw] == str(36 * 3_600_000)
    assert retention[other] != retention[raw], "only the raw topics get this retention"
