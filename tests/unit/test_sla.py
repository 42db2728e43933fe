"""Deadlines count support hours, except around-the-clock priorities."""

from __future__ import annotations

from datetime import UTC, datetime

from base.settings import SlaSettings
from core.sla import due_by

SLA = SlaSettings(support_timezone="Europe/Paris", support_open_hour=8, support_close_hour=20,
                  support_days=[0, 1, 2, 3, 4, 5])


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    """A November 2026 time given in Paris (UTC+1), returned in UTC."""
    return datetime(2026, 11, day, hour - 1, minute, tzinfo=UTC)


def test_inside_support_hours_the_deadline_is_the_sla_later() -> None:
    assert due_by(paris(24, 10), "high", "x", SLA) == paris(24, 11)


def test_a_message_at_night_is_due_after_the_team_comes_in() -> None:
    assert due_by(paris(24, 23, 30), "high", "x", SLA) == paris(25, 9)


def test_the_budget_carries_over_closing_time() -> None:
    assert due_by(paris(24, 19, 30), "high", "x", SLA) == paris(25, 8, 30)


def test_sunday_is_skipped() -> None:
    # 28 Nov 2026 is a Saturday: 30 min left that day, the other 30 on Monday morning.
    assert due_by(paris(28, 19, 30), "high", "x", SLA) == paris(30, 8, 30)


def test_critical_runs_around_the_clock() -> None:
    assert due_by(paris(24, 23, 30), "critical", "x", SLA) == paris(24, 23, 45)


def test_platform_overrides_win_over_the_priority_default() -> None:
    sla = SLA.model_copy(update={"platform_minutes": {"whatsapp": {"normal": 30}}})
    assert due_by(paris(24, 10), "normal", "whatsapp", sla) == paris(24, 10, 30)
    assert due_by(paris(24, 10), "normal", "x", sla) == paris(24, 14)
