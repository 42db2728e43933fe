"""The alert rules of deploy/prometheus: valid, unit-tested by promtool, loaded by the
compose stack's Prometheus, and written on metrics the workers export."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from base.metrics import Metrics
from tests.support.debian import binary

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
ALERTS: list[dict[str, Any]] = [r for g in RULES["groups"] for r in g["rules"] if "alert" in r]


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary("promtool", "prometheus"), *args], cwd=PROMETHEUS,
                          capture_output=True, text=True, timeout=60)


def test_promtool_accepts_the_rules_and_the_configuration_that_loads_them() -> None:
    rules = promtool("check", "rules", "alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in rules.stdout
    config = promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr
    assert "alerts.yml" in config.stdout  # the configuration loads the rules


def test_every_alert_passes_its_promtool_unit_tests() -> None:
    result = promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_that_sees_it_fire() -> None:
    tests = yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text())["tests"]
    fired = {case["alertname"] for test in tests for case in test["alert_rule_test"]
             if case["exp_alerts"]}
    assert fired == {a["alert"] for a in ALERTS}


def test_the_rules_cover_what_must_page_someone() -> None:
    names = {a["alert"] for a in ALERTS}
    for needed in ("VigieWorkerDown", "VigieWorkerNotReady", "VigieConsumerLagGrowing",
                   "VigieDeadLettersRising", "VigieClickHouseInsertsFailing",
                   "VigieClickHouseInsertsSlow", "VigieSlaBreachesRising",
                   "VigiePlatformSilent", "VigieSurgeDetectorStalled"):
        assert needed in names
    for alert in ALERTS:
        assert alert["labels"]["severity"] in ("page", "ticket"), alert["alert"]
        assert alert["annotations"]["summary"], alert["alert"]


def test_the_rules_name_only_metrics_the_workers_export() -> None:
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
                "gauge": ("",)}
    exported = {m.name + suffix for m in Metrics().registry.collect()
                for suffix in suffixes.get(m.type, ("",))}
    for alert in ALERTS:
        names = set(re.findall(r"\bvigie_[a-z_]+", alert["expr"]))
        assert names <= exported, f"{alert['alert']}: unknown {names - exported}"


def test_the_compose_prometheus_mounts_the_rules_where_its_configuration_reads_them() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    volumes = dict(v.split(":")[1::-1] for v in compose["services"]["prometheus"]["volumes"])
    config_path = Path(next(t for t, s in volumes.items() if s.endswith("prometheus.yml")))
    for rule_file in config["rule_files"]:
        target = str(config_path.parent / rule_file)
        assert volumes.get(target) == f"./deploy/prometheus/{rule_file}", volumes
