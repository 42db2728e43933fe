"""Response deadlines: SLA minutes counted in support hours (critical: around the clock).

Half of users give up a purchase without a fast answer, so every task has a
``due_by``; a message that arrives at night is due the same number of working
minutes after the team comes in, not at 3 a.m.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from base.settings import SlaSettings


def due_by(created_at: datetime, priority: str, platform: str, sla: SlaSettings) -> datetime:
    """When a task of ``priority`` on ``platform`` created at ``created_at`` is due."""
    budget = timedelta(minutes=sla.minutes(priority, platform))
    if priority in sla.around_the_clock or not sla.support_days:
        return created_at + budget
    zone = ZoneInfo(sla.support_timezone)
    cursor = created_at.astimezone(zone)
    for _ in range(366 * 2):  # a budget longer than a year of support hours is a config error
        day = cursor.date()
        close_hour = sla.support_close_hour
        opens = datetime.combine(day, time(sla.support_open_hour), zone)
        closes = (datetime.combine(day, time(close_hour), zone) if close_hour < 24
                  else datetime.combine(day + timedelta(days=1), time(0), zone))
        if day.weekday() in sla.support_days and cursor < closes:
            start = max(cursor, opens)
            if start + budget <= closes:
                return (start + budget).astimezone(created_at.tzinfo)
            budget -= closes - start
        cursor = datetime.combine(day + timedelta(days=1), time(0), zone)
    raise ValueError("SLA budget does not fit in the configured support hours")
