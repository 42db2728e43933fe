"""Kafka connection options shared by every client vigie creates (aiokafka, Faust, admin)."""

from __future__ import annotations

import contextlib
import ssl
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from vigie.settings import KafkaSettings, Settings


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    if "SSL" not in kafka.security_protocol:
        return None
    return ssl.create_default_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)


def aiokafka_options(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client: servers and security."""
    options: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "security_protocol": kafka.security_protocol,
        "client_id": kafka.client_id,
    }
    if context := ssl_context(kafka):
        options["ssl_context"] = context
    if kafka.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = kafka.sasl_mechanism or "PLAIN"
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = (
            kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
        )
    return options


def topic_names(settings: Settings) -> list[str]:
    t = settings.topics
    return [*t.all_raw(), t.normalized, t.classified, t.alerts, t.tasks, t.task_status,
            t.deadletter, t.surge]


def partitions_of(settings: Settings, topic: str) -> int:
    """Every topic has the configured partitions but the surge feed, which has one."""
    return 1 if topic == settings.topics.surge else settings.topics.partitions


def configs_of(settings: Settings, topic: str) -> dict[str, str]:
    """Topic configuration set at creation: raw topics hold the unmasked payloads, so
    their retention is bounded explicitly rather than left to the broker default."""
    if topic in settings.topics.all_raw():
        return {"retention.ms": str(settings.topics.raw_retention_hours * 3_600_000)}
    return {}


async def create_topics(settings: Settings) -> None:
    """Create every topic vigie uses (idempotent), with the configured partitions."""
    admin = AIOKafkaAdminClient(**aiokafka_options(settings.kafka))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, partitions_of(settings, name), settings.kafka.replication_factor,
                     topic_configs=configs_of(settings, name))
            for name in topic_names(settings) if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # a concurrent creator won
                await admin.create_topics(missing)
    finally:
        await admin.close()
