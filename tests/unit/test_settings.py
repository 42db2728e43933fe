"""Secrets can come from files (Docker and Kubernetes secrets), never other settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from base.settings import load_settings


def test_a_secret_is_read_from_the_file_its_variable_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ch").write_text("s3cret-from-file\n")
    (tmp_path / "kafka").write_text("kafka-pass")
    monkeypatch.setenv("VIGIE_CLICKHOUSE__PASSWORD_FILE", str(tmp_path / "ch"))
    monkeypatch.setenv("VIGIE_KAFKA__SASL_PASSWORD_FILE", str(tmp_path / "kafka"))
    monkeypatch.setenv("VIGIE_WEBHOOK__META_APP_SECRET_FILE", str(tmp_path / "kafka"))
    settings = load_settings()
    assert settings.clickhouse.password.get_secret_value() == "s3cret-from-file"
    assert settings.kafka.sasl_password is not None
    assert settings.kafka.sasl_password.get_secret_value() == "kafka-pass"
    assert settings.webhook.meta_app_secret is not None
    assert "kafka-pass" not in repr(settings), "still typed as a secret"


def test_the_variable_itself_wins_over_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ch").write_text("from-file")
    monkeypatch.setenv("VIGIE_CLICKHOUSE__PASSWORD_FILE", str(tmp_path / "ch"))
    monkeypatch.setenv("VIGIE_CLICKHOUSE__PASSWORD", "from-env")
    assert load_settings().clickhouse.password.get_secret_value() == "from-env"


def test_only_secrets_are_read_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    brands = tmp_path / "brands.toml"
    brands.write_text("# not a secret")
    monkeypatch.setenv("VIGIE_BRANDS_FILE", str(brands))
    monkeypatch.setenv("VIGIE_LOG_LEVEL_FILE", str(brands))
    settings = load_settings()
    assert settings.brands_file == brands
    assert settings.log_level == "INFO"


def test_an_unreadable_secret_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIE_CLICKHOUSE__PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="VIGIE_CLICKHOUSE__PASSWORD_FILE"):
        load_settings()
