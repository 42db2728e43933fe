"""Personal data and secrets: masked in ClickHouse, tasks and event topics, never in logs;
the worker's debug pages off by default.

A worker processes messages full of personal data (e-mail, phone, IBAN) and a poison
payload holding some too, with secrets set in its settings. ClickHouse `text` holds
the masked text (the raw topic keeps the payload untouched: its retention is what
bounds the unmasked copy), and no log record carries a secret or a message text.
"""

from __future__ import annotations

import logging

import aiohttp
import orjson
import pytest
from pydantic import SecretStr

from base.kafka import create_topics
from base.settings import Settings
from core.brands import BrandDirectory
from lab.simulator import RawMessage, Simulator
from schemas.events import Platform
from sinks.clickhouse import QueryResult
from tests.support.clickhouse import FaultyClickHouse
from tests.support.faults import replay
from tests.support.kafka_reader import read_to_end
from tests.support.worker import eventually, running_worker
from vigie.embedded import free_port

PII = ("jeanne.martin@example.org", "+33 6 12 34 56 78", "FR76 3000 6000 0112 3456 7890 189")
TEXT = (f"Bonjour, colis jamais reçu, écrivez-moi à {PII[0]} ou au {PII[1]}, "
        f"remboursez sur {PII[2]} svp")
SECRETS = {"clickhouse_password": "ch-Pa55-9f1c2e", "sasl_password": "sasl-Pa55-77ab01",
           "meta_app_secret": "meta-Pa55-c0ffee"}


def secret_settings(settings: Settings, mask: bool = True) -> Settings:
    return settings.model_copy(update={
        "clickhouse": settings.clickhouse.model_copy(update={
            "password": SecretStr(SECRETS["clickhouse_password"]), "mask_personal_data": mask}),
        "kafka": settings.kafka.model_copy(update={
            "sasl_password": SecretStr(SECRETS["sasl_password"])}),
        "webhook": settings.webhook.model_copy(update={
            "meta_app_secret": SecretStr(SECRETS["meta_app_secret"])}),
    })


def with_text(message: RawMessage, text: str) -> RawMessage:
    [event] = message.expected
    value = message.value.replace(orjson.dumps(event.text)[1:-1], orjson.dumps(text)[1:-1], 1)
    assert text.encode() in value
    return RawMessage(message.platform, message.key, value,
                      (event.model_copy(update={"text": text}),))


def pii_traffic() -> list[RawMessage]:
    """Telegram DMs: half carry personal data; one poison payload carries some too."""
    messages = list(Simulator(BrandDirectory.load(), seed=3, invalid_share=0, duplicate_share=0,
                              platforms=(Platform.TELEGRAM,)).messages(60))
    messages = [with_text(m, TEXT) if i % 2 else m for i, m in enumerate(messages)]
    poison = RawMessage(Platform.TELEGRAM, b"poison", orjson.dumps({"text": TEXT}), ())
    return [*messages, poison]


def leaks(caplog: pytest.LogCaptureFixture) -> list[str]:
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    return [s for s in (*SECRETS.values(), *PII, TEXT[:40]) if s in text]


async def stored_texts(settings: Settings, messages: list[RawMessage]) -> list[str]:
    expected = {e.event_id for m in messages for e in m.expected}
    async with running_worker(settings) as services:
        async def all_stored() -> bool:
            rows = await services.writer.query("SELECT uniqExact(event_id) FROM events")
            return int(rows.rows[0][0]) >= len(expected)

        await eventually(all_stored, within=60, what="every event stored")
        result: QueryResult = await services.writer.query("SELECT text FROM events FINAL")
    return [row[0] for row in result.rows]


async def test_personal_data_is_masked_in_clickhouse_and_no_log_holds_secrets_or_texts(
    settings: Settings, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="streams")
    caplog.set_level(logging.DEBUG, logger="sinks")
    caplog.set_level(logging.INFO)
    settings = secret_settings(settings)
    messages = pii_traffic()
    await create_topics(settings)
    await replay(settings, messages, {})
    texts = await stored_texts(settings, messages)

    personal = [t for t in texts if "colis" in t]
    assert len(personal) == 30
    assert not [t for t in texts if any(p in t for p in PII)]
    assert all("[email]" in t and "[iban]" in t for t in personal), personal[0]
    raw = read_to_end(settings.kafka.bootstrap_servers, settings.topics.raw(Platform.TELEGRAM))
    assert sum(PII[0].encode() in m.value() for m in raw) == 31, "raw topics keep the payload"
    assert caplog.records, "the run must have logged something to inspect"
    assert leaks(caplog) == []


async def test_masking_can_be_turned_off_for_clickhouse_text(settings: Settings) -> None:
    settings = secret_settings(settings, mask=False)
    messages = pii_traffic()[:10]
    await create_topics(settings)
    await replay(settings, messages, {})
    texts = await stored_texts(settings, messages)
    assert TEXT in texts


async def test_a_clickhouse_refusal_quoting_the_row_logs_no_message_text_fake_fault(
    settings: Settings, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    messages = pii_traffic()[:4]
    await create_topics(settings)
    await replay(settings, messages, {})
    async with running_worker(settings) as services:
        faulty = FaultyClickHouse(services.writer.ch)
        faulty.refusal = ("Code: 27. DB::Exception: Cannot parse input: expected '\"' before: "
                          f"'{TEXT}': (at row 1). (CANNOT_PARSE_INPUT_ASSERTION_FAILED)")
        services.writer.ch = faulty

        async def refused() -> bool:
            return faulty.refused > 0

        await eventually(refused, within=60, what="a refused insert")
    assert leaks(caplog) == []


SCAM_PII = ("4111.1111.1111.1111", "fr76 3000 6000 0112 3456 7890 189", "06/12/34/56/78",
            "jeanne.martin@example.org")
SCAM_REPORT = (
    "Un faux conseiller @MaisonLumenRefund sur aurore-refund.xyz m'a demandé mon numero de "
    f"carte : ils ont ma carte {SCAM_PII[0]} et mon iban {SCAM_PII[1]}. Rappelez moi au "
    f"{SCAM_PII[2]} ou écrivez à {SCAM_PII[3]}")


async def test_a_scam_victims_report_leaves_the_worker_masked_everywhere_but_the_raw_topic(
    settings: Settings,
) -> None:
    """The classifier labels this report a scam; the label once switched masking off, so
    the victim's card, IBAN, phone and e-mail were stored and sent in the private task."""
    messages = [with_text(m, SCAM_REPORT) if i % 2 else m
                for i, m in enumerate(pii_traffic()[:20])]
    await create_topics(settings)
    await replay(settings, messages, {})
    texts = await stored_texts(settings, messages)
    assert sum("faux conseiller" in t for t in texts) == 10
    bootstrap, topics = settings.kafka.bootstrap_servers, settings.topics

    def leaked(values: list[bytes]) -> list[bytes]:
        return [v for v in values if any(p.encode() in v for p in SCAM_PII)]

    assert leaked([t.encode() for t in texts]) == []
    tasks = [m.value() for m in read_to_end(bootstrap, topics.tasks)]
    assert sum(b"faux conseiller" in t for t in tasks) == 10, "each report gets a task"
    assert leaked(tasks) == []
    for topic in (topics.normalized, topics.classified):
        published = [m.value() for m in read_to_end(bootstrap, topic)]
        assert sum(b"faux conseiller" in v for v in published) == 10, topic
        assert leaked(published) == [], topic
    raw = [m.value() for m in read_to_end(bootstrap, topics.raw(Platform.TELEGRAM))]
    assert len(leaked(raw)) == 10, "the raw topic keeps the payload as it came"


async def test_the_workers_table_and_router_pages_are_off_unless_debugging(
    settings: Settings,
) -> None:
    """Faust's /table/* pages show table contents (words and ids from messages)."""
    base = f"http://{settings.web_host}:{settings.web_port}"
    async with running_worker(settings), aiohttp.ClientSession() as session:
        for page in ("/table/", "/router/"):
            async with session.get(base + page) as answer:
                assert answer.status == 404, page
        async with session.get(base + "/health") as answer:
            assert answer.status == 200
    debugging = settings.model_copy(update={"web_debug_pages": True, "web_port": free_port()})
    base = f"http://{debugging.web_host}:{debugging.web_port}"
    async with running_worker(debugging), aiohttp.ClientSession() as session, \
            session.get(base + "/table/") as answer:
        assert answer.status == 200
