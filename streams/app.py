"""App factory: one configured Faust app with its topics, services and agents.

No client is created at import time: :func:`create_app` builds everything from the
settings it is given, so tests and ``vigie run`` can hold several apps side by side.
"""

from __future__ import annotations

import gc

import faust

from base.kafka import record_ends, ssl_context
from base.metrics import Metrics
from base.settings import KafkaSettings, Settings
from core.brands import BrandDirectory
from core.classify import Classifier
from core.pipeline import Pipeline
from sinks.clickhouse import ClickHouse, connect
from sinks.writer import ClickHouseWriter
from streams import faust_patches
from streams.looplag import LoopLagProbe
from streams.partitioner import partition_for
from streams.rawfeed import RawFeed
from streams.services import Services
from streams.tables import declare_tables
from streams.topics import declare_topics


def _credentials(kafka: KafkaSettings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    if kafka.security_protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password.get_secret_value() if kafka.sasl_password else None,
            mechanism=kafka.sasl_mechanism or "PLAIN",
            ssl_context=ssl_context(kafka),
        )
    if context := ssl_context(kafka):
        return faust.SSLCredentials(context)
    return None


# A batch allocates many objects per event, and they all live until the batch is stored:
# with CPython's default thresholds (700, 10, 10) the collector kept rescanning them and
# took a third of the computing time (docs/performance.md, round 2). The middle one
# stays at its default: a collection cannot be sliced, and a younger generation allowed
# fifty rounds of survivors held the whole of the batches in flight, so collecting it
# held the event loop longest of anything under a backlog (round 7).
GC_THRESHOLDS = (10_000, 10, 10)


def create_app(
    settings: Settings,
    *,
    clickhouse: ClickHouse | None = None,
    brands: BrandDirectory | None = None,
    classifier: Classifier | None = None,
) -> tuple[faust.App, Services]:
    """A Faust app wired to ``settings``; ClickHouse defaults to what settings describe."""
    gc.set_threshold(*GC_THRESHOLDS)  # process-wide: a worker process runs one app
    kafka = settings.kafka
    app = faust.App(
        kafka.consumer_group,
        broker=[f"kafka://{server}" for server in kafka.bootstrap_servers.split(",")],
        broker_credentials=_credentials(kafka),
        broker_client_id=kafka.client_id,
        broker_rebalance_timeout=kafka.rebalance_timeout_s,
        broker_session_timeout=kafka.session_timeout_s,
        broker_heartbeat_interval=kafka.heartbeat_interval_s,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_partitioner=partition_for,
        producer_linger_ms=kafka.producer_linger_ms,
        producer_max_batch_size=kafka.producer_batch_bytes,
        store="memory://",
        datadir=settings.faust_datadir(),
        table_standby_replicas=kafka.standby_replicas,
        topic_partitions=settings.topics.partitions,
        topic_replication_factor=kafka.replication_factor,
        stream_buffer_maxsize=4 * settings.sink.batch_size,
        web_enabled=True,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        web_in_thread=False,
        # Faust's own pages show table contents (words and ids from messages) and the
        # cluster's layout to anyone who reaches the port: on only to debug.
        web_tables_enabled=settings.web_debug_pages,
        web_router_enabled=settings.web_debug_pages,
    )
    faust_patches.forget_read_positions(app)
    faust_patches.set_fetch_wait(app, kafka.fetch_max_wait_ms)
    if kafka.end_offsets_from_records:  # (the embedded broker reports them a batch short)
        faust_patches.read_ends_at_last_record(app, lambda ends: record_ends(kafka, ends))
    # Table writes wait in the producer buffer; past this size Faust stalls consumption
    # record by record with a warning each. A batch writes up to one changelog record per
    # event, so the bound is two batches (the committer drains it before each commit).
    app.producer.buffer.max_messages = 2 * settings.sink.batch_size
    metrics = Metrics()
    tables = declare_tables(app, settings)
    services = Services(
        settings=settings,
        topics=declare_topics(app, settings.topics),
        tables=tables,
        pipeline=Pipeline(
            settings, brands or BrandDirectory.load(settings.brands_file), classifier,
            tables.seen, tables.contacts,
        ),
        writer=ClickHouseWriter(clickhouse or connect(settings.clickhouse), metrics,
                                min_interval_s=settings.sink.min_insert_interval_s),
        metrics=metrics,
        raw_feed=RawFeed(set(settings.topics.all_raw()), settings.sink.batch_size,
                         settings.sink.batch_seconds),
        loop_lag=LoopLagProbe(metrics, settings.loop_hold_warn_s),
    )
    services.raw_feed.install(app)
    from streams.agents import register_agents
    from streams.web import register_web

    register_agents(app, services)
    register_web(app, services)
    return app, services
