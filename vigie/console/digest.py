"""What an on-duty person reads in a terminal at the end of ``vigie run --events N``:
the alert with its explanation, the most urgent tasks, and where the console is.

The same reads as the page's (:mod:`vigie.console.reads`), printed with Rich; message
texts go through :func:`vigie.terminal.literal` (data, never markup or
terminal codes).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from vigie.console.reads import AlertView, TaskBadge, UrgentTask, time_left
from vigie.terminal import literal

SPARKS = "▁▂▃▄▅▆▇█"
EXCERPT = 90


def sparkline(counts: list[int]) -> str:
    top = max([1, *counts])
    return "".join(SPARKS[min(len(SPARKS) - 1, round((len(SPARKS) - 1) * c / top))]
                   for c in counts)


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


def _task(task: TaskBadge, now: datetime) -> Text:
    left = task.seconds_left(now)
    due = task.state if task.closed else time_left(left)
    return Text.assemble(f"{task.action} → {task.queue}, {task.priority}, ",
                         (due, "red" if left < 0 and not task.closed else "green"),
                         f" ({task.state})")


def alert_lines(alert: AlertView, now: datetime, brand_name: Callable[[str], str]) -> Group:
    """One alert and everything that explains it, a line per fact."""
    chart = alert.chart()
    counts = [b.count for b in chart.bars]
    first, last = (chart.bars[0].minute, chart.bars[-1].minute) if chart.bars else ("", "")
    where = brand_name(alert.brand) if alert.brand else "all brands"
    head = Text.assemble(
        ("alert: ", "bold"), (f"{alert.kind} on {where}", "bold red"),
        f" — {alert.polarity or 'no polarity'}, {alert.severity}, {alert.status} "
        f"(opened {alert.opened_at:%H:%M:%S} UTC)")
    terms = " · ".join(f"{t} {c} (expected {e:.1f})" for t, c, e in alert.terms) \
        or ", ".join(alert.top_terms)
    lines: list[RenderableType] = [
        head,
        Text("  ") + literal(alert.summary),
        Text(f"  per minute {first}–{last} UTC: {sparkline(counts)}  "
             f"{' '.join(str(c) for c in counts[-6:])} (last 6); "
             f"{alert.count:,} messages vs {alert.baseline:.1f} expected, "
             f"score {alert.score:.1f}"),
        Text("  top terms vs baseline: ") + literal(terms),
    ]
    if alert.origin is not None:
        o = alert.origin
        followers = f" ({o.followers:,} followers)" if o.followers else ""
        lines.append(Text(f"  origin: {o.platform} @") + literal(o.author) + Text(
            f"{followers} {o.created_at:%H:%M} UTC: ") + literal(f'"{_excerpt(o.text)}"'))
    platforms = ", ".join(f"{p} {n:,}" for p, n in sorted(
        alert.platform_counts.items(), key=lambda pn: -pn[1])) or ", ".join(alert.platforms)
    mix = ", ".join(f"{p} {alert.polarity_mix.get(p, 0):,}"
                    for p in ("negative", "neutral", "positive"))
    lines.append(Text(f"  platforms: {platforms} · polarity mix: {mix}"))
    lines.append(Text("  lifecycle: " + " → ".join(
        f"{s.status} {s.at:%H:%M:%S} ({s.count:,}, {s.severity})" for s in alert.steps)))
    lines.append(Text("  crisis task: ") + (_task(alert.task, now) if alert.task
                                              else Text("none")))
    return Group(*lines)


def urgent_table(tasks: list[UrgentTask], now: datetime,
                 brand_name: Callable[[str], str]) -> Table:
    table = Table(title=f"the {len(tasks)} most urgent open tasks", title_justify="left")
    for column in ("time left", "priority", "queue", "action", "where", "message"):
        table.add_column(column)
    for u in tasks:
        t = u.task
        left = t.seconds_left(now)
        message = f"alert {u.alert_id}" if u.alert_id else (
            (f"@{u.author}: " if u.author else "") + _excerpt(u.excerpt))
        table.add_row(Text(time_left(left), style="red" if left < 0 else "green"),
                      t.priority, t.queue, t.action,
                      f"{brand_name(u.brand)} · {u.platform}", literal(message))
    return table


def digest(alerts: list[AlertView], urgent: list[UrgentTask], console_url: str,
           serving: bool, now: datetime, brand_name: Callable[[str], str]) -> Group:
    """The ending of ``vigie run --events N``."""
    open_alerts = [a for a in alerts if a.status != "resolved"] or alerts
    parts: list[RenderableType] = [alert_lines(a, now, brand_name) for a in open_alerts[:3]]
    if not open_alerts:
        parts.append(Text("no alert", style="yellow"))
    parts.append(urgent_table(urgent, now, brand_name) if urgent
                 else Text("no open task", style="green"))
    parts.append(Text.assemble(
        ("console: ", "bold"), (console_url, "bold cyan"),
        " — serving until Ctrl-C" if serving
        else " (served while the run lasted; `vigie run --events N --serve` keeps it up)"))
    return Group(*parts)
