"""docker-compose.yml, Prometheus and Grafana agree with the settings and the schema.

Docker does not run here, so the files are read: the compose file against
:class:`Settings`, the Prometheus targets against the worker services and their web
port, and every SQL query of the Grafana dashboard is run on an embedded ClickHouse
built from ``deploy/clickhouse`` (so every table and column it names must exist).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml
from pydantic import BaseModel, SecretStr

from base.settings import Settings, WebhookSettings
from sinks.migrate import discover, ttl_statement

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
WORKERS = [name for name, s in SERVICES.items() if s.get("command") == ["worker"]]


def vigie_environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    return {k: str(v) for k, v in env.items() if k.startswith("VIGIE_")}


def setting_exists(variable: str) -> bool:
    """Whether ``VIGIE_A__B`` names field ``b`` of section ``a`` of :class:`Settings`."""
    model: type[BaseModel] = Settings
    parts = variable.removeprefix("VIGIE_").lower().split("__")
    for i, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if i < len(parts) - 1:
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


def port_map(service: dict[str, Any]) -> dict[int, int]:
    """container port → host port."""
    return {int(p.split(":")[-1]): int(p.split(":")[-2]) for p in service.get("ports", [])}


VIGIE_SERVICES = [name for name, s in SERVICES.items() if vigie_environment(s)]


def test_the_stack_has_kafka_clickhouse_workers_webhook_and_monitoring() -> None:
    assert {"kafka", "clickhouse", "migrate", "webhook", "prometheus", "grafana"} <= set(
        SERVICES)
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:")
    assert "controller" in SERVICES["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]


@pytest.mark.parametrize("name", list(SERVICES))
def test_every_image_is_pinned_to_a_version(name: str) -> None:
    image = SERVICES[name]["image"]
    tag = image.rsplit(":", 1)[-1] if ":" in image else ""
    assert tag not in ("", "latest"), f"{name} uses an unpinned image {image!r}"


def test_two_workers_share_one_consumer_group() -> None:
    assert len(WORKERS) >= 2
    groups = {vigie_environment(SERVICES[w])["VIGIE_KAFKA__CONSUMER_GROUP"] for w in WORKERS}
    assert len(groups) == 1
    assert len({SERVICES[w].get("hostname") for w in WORKERS}) == len(WORKERS)


@pytest.mark.parametrize("name", ["kafka", "clickhouse", "webhook", "prometheus", "grafana",
                                  *WORKERS])
def test_long_running_services_have_a_healthcheck(name: str) -> None:
    assert SERVICES[name]["healthcheck"]["test"]


@pytest.mark.parametrize("name", VIGIE_SERVICES)
def test_every_vigie_variable_is_a_real_setting_and_parses(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = vigie_environment(SERVICES[name])
    unknown = [v for v in env if not setting_exists(v)]
    assert not unknown, f"{name} sets variables no setting reads: {unknown}"
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    settings = Settings()
    assert settings.kafka.bootstrap_servers == env["VIGIE_KAFKA__BOOTSTRAP_SERVERS"]


@pytest.mark.parametrize("name", WORKERS)
def test_workers_reach_kafka_and_clickhouse_where_they_listen(name: str) -> None:
    env = vigie_environment(SERVICES[name])
    host, port = env["VIGIE_KAFKA__BOOTSTRAP_SERVERS"].split(":")
    listeners = SERVICES["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert f"PLAINTEXT://{host}:{port}" in listeners
    assert env["VIGIE_CLICKHOUSE__URL"] == "http://clickhouse:8123"
    assert 8123 in port_map(SERVICES["clickhouse"])


def test_topic_partitions_agree_with_the_broker_default() -> None:
    env = vigie_environment(SERVICES[WORKERS[0]])
    kafka_env = SERVICES["kafka"]["environment"]
    assert env["VIGIE_TOPICS__PARTITIONS"] == kafka_env["KAFKA_NUM_PARTITIONS"]
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # vigie creates its topics


def test_published_ports_match_the_configured_ones_and_avoid_defaults() -> None:
    for name in WORKERS:
        worker = vigie_environment(SERVICES[name])
        assert int(worker["VIGIE_WEB_PORT"]) in port_map(SERVICES[name])
    webhook = vigie_environment(SERVICES["webhook"])
    assert int(webhook["VIGIE_WEBHOOK__PORT"]) in port_map(SERVICES["webhook"])
    host_ports = [h for s in SERVICES.values() for h in port_map(s).values()]
    assert len(host_ports) == len(set(host_ports))
    assert not {9092, 8123, 6066, 8088, 9090, 3000} & set(host_ports)


def test_secrets_come_from_env_files_that_have_committed_examples() -> None:
    for service in SERVICES.values():
        for env_file in service.get("env_file", []):
            assert (ROOT / f"{env_file}.example").exists(), env_file
            assert "PASSWORD" not in str(service.get("environment", {}))


def test_every_port_is_published_on_loopback_only() -> None:
    """Published on all interfaces, plaintext Kafka and ClickHouse answered anyone who
    reached the host."""
    published = {name: s["ports"] for name, s in SERVICES.items() if s.get("ports")}
    assert published
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_the_console_asks_every_worker_for_its_status_and_listens_where_published() -> None:
    console = SERVICES["console"]
    command = console["command"]
    asked = {command[i + 1] for i, arg in enumerate(command) if arg == "--worker"}
    assert asked == {f"http://{SERVICES[w].get('hostname', w)}:"
                     f"{vigie_environment(SERVICES[w])['VIGIE_WEB_PORT']}" for w in WORKERS}
    assert int(vigie_environment(console)["VIGIE_CONSOLE__PORT"]) in port_map(console)


def test_kafkas_external_listener_is_off() -> None:
    kafka = SERVICES["kafka"]
    assert "ports" not in kafka
    for key in ("KAFKA_LISTENERS", "KAFKA_ADVERTISED_LISTENERS",
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"):
        assert "EXTERNAL" not in kafka["environment"][key], key


def env_example(name: str) -> list[tuple[str, str]]:
    """``(variable, value)`` of the assignments a copy of the example would make."""
    lines = (ROOT / f"deploy/env/{name}.env.example").read_text().splitlines()
    return [tuple(line.split("=", 1)) for line in lines  # type: ignore[misc]
            if "=" in line and not line.lstrip().startswith("#")]


def test_env_examples_ship_no_blank_secret_and_mark_each_webhook_secret_required() -> None:
    """The webhook example once shipped nine blank secrets: copied as told, each was an
    empty HMAC key."""
    for name in ("vigie", "webhook", "clickhouse", "grafana"):
        blank = [var for var, value in env_example(name) if not value.strip()]
        assert not blank, f"{name}.env.example ships blank values: {blank}"
    text = (ROOT / "deploy/env/webhook.env.example").read_text()
    secrets = [f for f, info in WebhookSettings.model_fields.items()
               if SecretStr in (info.annotation, *getattr(info.annotation, "__args__", ()))]
    assert len(secrets) == 9
    for field in secrets:
        variable = WebhookSettings.variable(field)
        lines = text.splitlines()
        [at] = [i for i, line in enumerate(lines) if variable + "=" in line]
        assert "required" in lines[at - 1], variable


def test_the_webhook_service_gets_its_own_secrets_and_kafka_only() -> None:
    webhook = SERVICES["webhook"]
    assert webhook["env_file"] == ["deploy/env/webhook.env"]
    assert all(var.startswith("VIGIE_WEBHOOK__") for var, _ in env_example("webhook"))
    environment = vigie_environment(webhook)
    assert not [v for v in environment if v.startswith("VIGIE_CLICKHOUSE")]
    assert "clickhouse" not in webhook.get("depends_on", {})
    for name in WORKERS:
        assert "deploy/env/webhook.env" not in SERVICES[name].get("env_file", [])
    assert not [v for v, _ in env_example("vigie") if v.startswith("VIGIE_WEBHOOK")]


# -- Prometheus -------------------------------------------------------------------------

PROMETHEUS = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
DASHBOARD: dict[str, Any] = json.loads(
    (ROOT / "deploy/grafana/dashboards/vigie.json").read_text())
PANEL_TARGETS = [(panel["title"], target) for panel in DASHBOARD["panels"]
                 for target in panel["targets"]]


def mounted(service: str, container_path: str) -> Path:
    """The repository file or directory mounted at ``container_path`` in ``service``."""
    for volume in SERVICES[service].get("volumes", []):
        source, target = volume.split(":")[:2]
        if target == container_path:
            return ROOT / source
    raise AssertionError(f"{service} does not mount {container_path}")


def test_prometheus_scrapes_every_worker_on_its_web_port_at_metrics() -> None:
    assert mounted("prometheus", "/etc/prometheus/prometheus.yml") == (
        ROOT / "deploy/prometheus/prometheus.yml")
    jobs = [j for j in PROMETHEUS["scrape_configs"] if j["job_name"] == "vigie-workers"]
    assert jobs, "no scrape job for the workers"
    assert jobs[0].get("metrics_path", "/metrics") == "/metrics"
    targets = {t for group in jobs[0]["static_configs"] for t in group["targets"]}
    expected = {f"{SERVICES[w].get('hostname', w)}:"
                f"{vigie_environment(SERVICES[w])['VIGIE_WEB_PORT']}" for w in WORKERS}
    assert targets == expected


def test_dashboard_prometheus_queries_name_metrics_the_workers_export() -> None:
    from base.metrics import Metrics

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
                "gauge": ("",)}
    exported = {m.name + suffix for m in Metrics().registry.collect()
                for suffix in suffixes.get(m.type, ("",))}
    queries = [t["expr"] for _, t in PANEL_TARGETS if "expr" in t]
    assert queries
    for query in queries:
        names = set(re.findall(r"\bvigie_[a-z_]+", query))
        assert names, query
        assert names <= exported, f"unknown metrics in {query!r}: {names - exported}"


# -- Grafana ------------------------------------------------------------------------------

def test_grafana_installs_the_clickhouse_plugin_and_provisions_both_datasources() -> None:
    grafana = SERVICES["grafana"]
    assert "grafana-clickhouse-datasource" in grafana["environment"]["GF_INSTALL_PLUGINS"]
    provisioning = mounted("grafana", "/etc/grafana/provisioning")
    sources = yaml.safe_load((provisioning / "datasources/datasources.yml").read_text())
    by_uid = {s["uid"]: s for s in sources["datasources"]}
    clickhouse = by_uid["vigie-clickhouse"]
    assert clickhouse["type"] == "grafana-clickhouse-datasource"
    assert clickhouse["jsonData"]["host"] in SERVICES
    assert clickhouse["jsonData"]["username"] == "analyst"  # read-only
    assert clickhouse["secureJsonData"]["password"].startswith("$")  # from the env file
    assert by_uid["vigie-prometheus"]["url"] == "http://prometheus:9090"
    dashboards = yaml.safe_load((provisioning / "dashboards/dashboards.yml").read_text())
    path = dashboards["providers"][0]["options"]["path"]
    assert mounted("grafana", path) == ROOT / "deploy/grafana/dashboards"
    used = {t["datasource"]["uid"] for _, t in PANEL_TARGETS}
    assert used <= set(by_uid)


def test_the_dashboard_covers_volume_sentiment_alerts_and_sla() -> None:
    titles = " ".join(p["title"].lower() for p in DASHBOARD["panels"])
    for topic in ("volume", "sentiment", "alerts", "sla"):
        assert topic in titles


def grafana_to_clickhouse(sql: str) -> str:
    """Grafana macros and variables replaced by what the plugin would send."""
    sql = re.sub(r"\$__timeFilter\((\w+)\)",
                 r"(\1 >= now() - INTERVAL 6 HOUR AND \1 <= now())", sql)
    sql = sql.replace("${brand:singlequote}", "'acme', 'zenith'")
    assert "$" not in sql, f"unhandled Grafana macro in {sql!r}"
    return sql


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An embedded ClickHouse with every migration of deploy/clickhouse applied."""
    from sinks.clickhouse import EmbeddedClickHouse
    from sinks.migrate import migrate

    ch = EmbeddedClickHouse(tmp_path_factory.mktemp("schema"), "vigie")
    migrate(ch)
    yield ch
    ch.close()


SQL_QUERIES = [(title, t["rawSql"]) for title, t in PANEL_TARGETS if "rawSql" in t] + [
    (f"variable {v['name']}", v["query"]) for v in DASHBOARD["templating"]["list"]
    if v["datasource"]["uid"] == "vigie-clickhouse"]


@pytest.mark.parametrize(("title", "sql"), SQL_QUERIES, ids=[t for t, _ in SQL_QUERIES])
def test_every_dashboard_query_runs_on_the_migrated_schema(
    schema: Any, title: str, sql: str
) -> None:
    schema.query(grafana_to_clickhouse(sql))  # unknown table or column → raises


# -- ClickHouse users ---------------------------------------------------------------------

USERS = ElementTree.parse(ROOT / "deploy/clickhouse-users/vigie.xml").getroot()


def test_clickhouse_users_are_mounted_and_take_passwords_from_the_environment() -> None:
    assert mounted("clickhouse", "/etc/clickhouse-server/users.d") == (
        ROOT / "deploy/clickhouse-users")
    example = (ROOT / "deploy/env/clickhouse.env.example").read_text()
    for user in ("vigie_writer", "analyst"):
        password = USERS.find(f"users/{user}/password")
        assert password is not None
        assert password.get("from_env") in example
        assert not (password.text or "").strip()


def grants(user: str) -> list[str]:
    element = USERS.find(f"users/{user}")
    assert element is not None, user
    return [q.text or "" for q in element.iter("query")]


def test_the_analyst_is_read_only_and_the_sink_writes_as_vigie_writer() -> None:
    analyst = USERS.find("users/analyst")
    assert analyst is not None
    profile = USERS.find(f"profiles/{analyst.findtext('profile')}")
    assert profile is not None
    assert profile.findtext("readonly") == "1"
    assert all(g.startswith(("GRANT SELECT", "REVOKE")) for g in grants("analyst"))
    writer_grants = " ".join(grants("vigie_writer"))
    assert "INSERT" in writer_grants
    assert "CREATE TABLE" in writer_grants
    env_example = (ROOT / "deploy/env/vigie.env.example").read_text()
    assert "VIGIE_CLICKHOUSE__USERNAME=vigie_writer" in env_example


_GRANT = re.compile(r"^(GRANT|REVOKE) (.+) ON vigie\.(\*|\w+)$")
_PRIVILEGE = re.compile(r"([A-Z][A-Z ]*[A-Z])(?:\(([\w, ]+)\))?(?:, |$)")


def readable_columns(user: str, schema: Any) -> set[tuple[str, str]]:
    """``(table, column)`` pairs ``user`` may SELECT in the migrated schema, by its grants
    and partial revokes in order (the only forms vigie.xml uses)."""
    columns = {(str(t), str(c)) for t, c in schema.query(
        "SELECT table, name FROM system.columns WHERE database = 'vigie'").rows}
    readable: set[tuple[str, str]] = set()
    for query in grants(user):
        match = _GRANT.match(query)
        assert match, f"unexpected grant form: {query}"
        verb, privileges, table = match.groups()
        for privilege, named in _PRIVILEGE.findall(privileges):
            if privilege != "SELECT":
                continue
            hit = {(t, c) for t, c in columns if table in ("*", t)
                   and (not named or c in [n.strip() for n in named.split(",")])}
            readable = readable | hit if verb == "GRANT" else readable - hit
    return readable


@pytest.mark.parametrize("user", ["vigie_writer", "analyst"])
def test_every_grant_is_valid_clickhouse(schema: Any, user: str) -> None:
    for query in grants(user):
        schema.query(f"EXPLAIN AST {query} {'TO' if query.startswith('GRANT') else 'FROM'} u")


def test_the_analyst_reads_every_column_but_the_dead_letters_payload(schema: Any) -> None:
    """Dead letters keep the unmasked payload (card numbers included)."""
    columns = {(str(t), str(c)) for t, c in schema.query(
        "SELECT table, name FROM system.columns WHERE database = 'vigie'").rows}
    assert readable_columns("analyst", schema) == columns - {("dead_letters", "payload_b64")}
    assert ("dead_letters", "payload_b64") in readable_columns("vigie_writer", schema)


def test_the_writer_can_migrate_and_insert_but_not_drop_delete_or_rewrite() -> None:
    privileges = {p.strip() for g in grants("vigie_writer")
                  for p in _GRANT.match(g).group(2).split(",")}  # type: ignore[union-attr]
    assert privileges == {"CREATE DATABASE", "SELECT", "INSERT", "CREATE TABLE",
                          "CREATE VIEW", "ALTER TTL", "ALTER ADD INDEX"}
    statements = [s for m in discover() for s in m.statements()]
    statements += [ttl_statement("events", 30), ttl_statement("events", None)]
    needs = ("CREATE TABLE", "CREATE VIEW", "CREATE MATERIALIZED VIEW",  # CREATE TABLE/VIEW
             "ALTER TABLE EVENTS ADD INDEX",  # ALTER ADD INDEX
             "ALTER TABLE EVENTS MODIFY TTL", "ALTER TABLE EVENTS REMOVE TTL")  # ALTER TTL
    for statement in statements:
        assert statement.upper().startswith(needs), statement


@pytest.mark.parametrize("user", ["vigie_writer", "analyst"])
def test_clickhouse_users_answer_private_networks_only_under_a_quota(user: str) -> None:
    element = USERS.find(f"users/{user}")
    assert element is not None
    networks = [ip.text or "" for ip in element.iter("ip")]
    assert networks
    for network in networks:
        assert ipaddress.ip_network(network).is_private, network
    quota = element.findtext("quota")
    assert quota
    assert quota != "default"
    assert USERS.find(f"quotas/{quota}/interval") is not None
    if user == "analyst":
        limits = USERS.find(f"quotas/{quota}/interval")
        assert limits is not None
        assert all(int(limits.findtext(k) or 0) > 0
                   for k in ("queries", "read_rows", "execution_time"))
