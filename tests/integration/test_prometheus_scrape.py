"""A real Prometheus (Debian's) scrapes a real worker, evaluates the alert rules on what it
scraped, and answers for the worker's metrics through its HTTP API."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from base.settings import Settings
from core.brands import BrandDirectory
from lab.simulator import Simulator
from tests.support.debian import binary
from tests.support.publish import publish
from tests.support.worker import eventually, running_worker
from vigie.embedded import free_port

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"


@pytest.fixture
def prometheus(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """Prometheus on a free loopback port, scraping the test's worker every second with
    the deployment's rules, as the compose stack does every five."""
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{
            "job_name": "vigie-workers",
            "static_configs": [{"targets": [f"{settings.web_host}:{settings.web_port}"],
                                "labels": {"group": settings.kafka.consumer_group}}],
        }],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    address = f"127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [binary("prometheus", "prometheus"), f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address={address}"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("wb"))
    try:
        yield f"http://{address}"
    finally:
        process.terminate()
        process.wait(timeout=30)


async def api(base: str, path: str, **params: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(
            f"{base}/api/v1/{path}", params=params) as response:
        body = await response.json()
    assert body["status"] == "success", body
    return body["data"]


async def test_prometheus_scrapes_a_worker_finds_its_metrics_and_evaluates_every_rule(
    settings: Settings, prometheus: str,
) -> None:
    messages = list(Simulator(BrandDirectory.load(), seed=5).messages(300))
    async with running_worker(settings):
        await publish(settings, messages)
        raw: list[Any] = []

        async def counted_every_record() -> bool:
            nonlocal raw
            try:
                raw = (await api(prometheus, "query",
                                 query='vigie_events_total{stage="raw"}'))["result"]
            except aiohttp.ClientError:
                return False  # not listening yet
            return bool(raw) and float(raw[0]["value"][1]) == len(messages)

        await eventually(counted_every_record, within=90, what="the raw count in Prometheus")

        groups: list[Any] = []

        async def rules_evaluated() -> bool:
            nonlocal groups
            groups = (await api(prometheus, "rules"))["groups"]
            return bool(groups) and all(r.get("lastEvaluation", "").startswith("20")
                                        and r["health"] == "ok"
                                        for g in groups for r in g["rules"])

        await eventually(rules_evaluated, within=30, what="every rule evaluated")
        [target] = (await api(prometheus, "targets"))["activeTargets"]
        ends = (await api(prometheus, "query", query="vigie_partition_end_offset"))["result"]
        down = (await api(prometheus, "query", query='ALERTS{alertname="VigieWorkerDown"}'))

    assert raw[0]["metric"]["group"] == settings.kafka.consumer_group
    assert target["health"] == "up"
    assert {r["metric"]["topic"] for r in ends} >= set(settings.topics.all_raw())
    assert sum(float(r["value"][1]) for r in ends
               if r["metric"]["topic"] in settings.topics.all_raw()) == len(messages)
    rules = {r["name"] for g in groups for r in g["rules"]}
    assert {"VigieWorkerDown", "VigiePlatformSilent", "VigieSurgeDetectorStalled"} <= rules
    assert down["result"] == []
