"""docker-compose.yml agrees with the settings: Docker does not run here, so we read it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from vigie.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]


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


def test_the_stack_has_kafka_clickhouse_workers_and_webhook_ingest() -> None:
    assert {"kafka", "clickhouse", "migrate", "worker", "webhook"} <= set(SERVICES)
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:")
    assert "controller" in SERVICES["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]


@pytest.mark.parametrize("name", list(SERVICES))
def test_every_image_is_pinned_to_a_version(name: str) -> None:
    image = SERVICES[name]["image"]
    tag = image.rsplit(":", 1)[-1] if ":" in image else ""
    assert tag not in ("", "latest"), f"{name} uses an unpinned image {image!r}"


@pytest.mark.parametrize("name", ["kafka", "clickhouse", "webhook"])
def test_long_running_infrastructure_has_a_healthcheck(name: str) -> None:
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


def test_workers_reach_kafka_and_clickhouse_where_they_listen() -> None:
    env = vigie_environment(SERVICES["worker"])
    host, port = env["VIGIE_KAFKA__BOOTSTRAP_SERVERS"].split(":")
    listeners = SERVICES["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert f"PLAINTEXT://{host}:{port}" in listeners
    assert env["VIGIE_CLICKHOUSE__URL"] == "http://clickhouse:8123"
    assert 8123 in port_map(SERVICES["clickhouse"])


def test_topic_partitions_agree_with_the_broker_default() -> None:
    env = vigie_environment(SERVICES["worker"])
    kafka_env = SERVICES["kafka"]["environment"]
    assert env["VIGIE_TOPICS__PARTITIONS"] == kafka_env["KAFKA_NUM_PARTITIONS"]
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # vigie creates its topics


def test_published_ports_match_the_configured_ones_and_avoid_defaults() -> None:
    worker = vigie_environment(SERVICES["worker"])
    webhook = vigie_environment(SERVICES["webhook"])
    assert int(worker["VIGIE_WEB_PORT"]) in port_map(SERVICES["worker"])
    assert int(webhook["VIGIE_WEBHOOK__PORT"]) in port_map(SERVICES["webhook"])
    host_ports = [h for s in SERVICES.values() for h in port_map(s).values()]
    assert len(host_ports) == len(set(host_ports))
    assert not {9092, 8123, 6066, 8088} & set(host_ports)


def test_secrets_come_from_env_files_that_have_committed_examples() -> None:
    for service in SERVICES.values():
        for env_file in service.get("env_file", []):
            assert (ROOT / f"{env_file}.example").exists(), env_file
            assert "PASSWORD" not in str(service.get("environment", {}))
