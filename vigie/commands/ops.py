"""Operations commands: ``vigie top``, the live dashboard of running workers, and log setup.

``vigie top`` polls the ``/status`` endpoint of one or more workers
(:mod:`streams.web`). Without ``--url`` it reads ``.vigie/run.json``, written by
``vigie run`` in the current directory; ``--url`` (repeatable) reaches production
workers, and their snapshots are merged: stage counts and rates add up, lag lists
concatenate, the ClickHouse sections (alerts, tasks) are shared and taken once.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from base.logs import configure_logging

console = Console()
RUN_FILE = Path(".vigie") / "run.json"
STAGE_ORDER = ("raw", "normalized", "duplicate", "ignored", "classified", "written", "tasks",
               "alerts", "deadletter")
MAX_LAG_ROWS = 12


def logging_options() -> None:
    """Streaming lookout for what people say to and about brands."""
    from pydantic import ValidationError

    from base.settings import load_settings

    try:
        settings = load_settings()
    except ValidationError:
        configure_logging()  # the command itself reports the bad setting
        return
    configure_logging(settings.log_level, settings.log_format)


def local_pipeline(run_file: Path = RUN_FILE) -> str:
    """The web address of the ``vigie run`` started in this directory."""
    try:
        info = orjson.loads(run_file.read_bytes())
    except FileNotFoundError:
        raise typer.BadParameter(
            f"no {run_file} here: start `vigie run` in this directory or pass --url"
        ) from None
    try:
        os.kill(int(info["pid"]), 0)
    except ProcessLookupError:
        raise typer.BadParameter(f"{run_file} is stale: process {info['pid']} is gone") from None
    except PermissionError:
        pass  # alive, owned by someone else
    return str(info["web"])


def fetch_status(url: str, timeout: float = 5.0) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url.rstrip('/')}/status", timeout=timeout) as response:
        status: dict[str, Any] = orjson.loads(response.read())
    return status


def merge(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """One view of several workers of a group (see module docstring)."""
    if len(snapshots) == 1:
        merged = dict(snapshots[0])
        merged["workers"] = [merged["worker"]]
        return merged
    first = snapshots[0]
    stages: dict[str, dict[str, float]] = {}
    for snap in snapshots:
        for stage, value in snap["stages"].items():
            into = stages.setdefault(stage, {"total": 0.0, "rate": 0.0})
            into["total"] += value["total"]
            into["rate"] += value["rate"]
    lag = [p for snap in snapshots for p in snap["lag"]]
    return {
        **first,
        "workers": [s["worker"] for s in snapshots],
        "stages": stages,
        "lag": lag,
        "lag_total": sum(p["lag"] for p in lag),
        "dead_letters": {
            "published": sum(s["dead_letters"]["published"] for s in snapshots),
            "stored": first["dead_letters"]["stored"],
        },
        "insert_latency": {k: v for s in snapshots for k, v in s["insert_latency"].items()},
    }


def _stages(snap: dict[str, Any]) -> Table:
    table = Table(title="stages", title_justify="left")
    table.add_column("stage")
    table.add_column("total", justify="right")
    table.add_column("events/s", justify="right")
    stages = snap["stages"]
    for stage in [*[s for s in STAGE_ORDER if s in stages],
                  *[s for s in stages if s not in STAGE_ORDER]]:
        table.add_row(stage, f"{stages[stage]['total']:,.0f}", f"{stages[stage]['rate']:,.1f}")
    return table


def _lag(snap: dict[str, Any]) -> Table:
    table = Table(title=f"consumer lag — total {snap['lag_total']:,}", title_justify="left",
                  )
    for column in ("topic", "partition", "end", "committed", "lag"):
        table.add_column(column, justify="left" if column == "topic" else "right")
    worst = sorted(snap["lag"], key=lambda p: (-p["lag"], p["topic"], p["partition"]))
    for p in worst[:MAX_LAG_ROWS]:
        table.add_row(p["topic"], str(p["partition"]), f"{p['end']:,}", f"{p['committed']:,}",
                      Text(f"{p['lag']:,}", style="red" if p["lag"] else "green"))
    if len(worst) > MAX_LAG_ROWS:
        rest = worst[MAX_LAG_ROWS:]
        table.caption = f"{len(rest)} more partitions, lag ≤ {rest[0]['lag']:,}"
    return table


def _alerts(snap: dict[str, Any]) -> RenderableType:
    alerts = snap.get("alerts")
    if alerts is None:
        return Text("alerts: not available (no alerts table or live board yet)", style="dim")
    table = Table(title=f"open alerts — {len(alerts)}", title_justify="left")
    for column in ("kind", "brand", "platforms", "severity", "count", "score", "top terms",
                   "trajectory (per minute)"):
        table.add_column(column)
    for a in alerts:
        table.add_row(
            str(a.get("kind")), str(a.get("brand") or "—"), ", ".join(a.get("platforms") or []),
            str(a.get("severity")), str(a.get("count", "")), f"{float(a.get('score') or 0):.1f}",
            ", ".join((a.get("top_terms") or [])[:5]),
            " → ".join(str(c) for c in (a.get("trajectory") or [])[-6:]),
        )
    return table


def _tasks(snap: dict[str, Any]) -> RenderableType:
    tasks = snap.get("tasks")
    if tasks is None:
        return Text("tasks: not available (no tasks table)", style="dim")
    feedback = "" if tasks["status_feedback"] else " (no status feedback table: all counted open)"
    table = Table(title=f"task queues — {tasks['open']:,} open, "
                  f"{tasks['sla_breaches']:,} past SLA{feedback}", title_justify="left",
                  )
    for column in ("queue", "priority", "open", "past due"):
        table.add_column(column, justify="right" if column in ("open", "past due") else "left")
    for q in tasks["queues"]:
        table.add_row(q["queue"], q["priority"], f"{q['open']:,}",
                      Text(f"{q['breached']:,}", style="red" if q["breached"] else ""))
    return table


def _latency(snap: dict[str, Any]) -> Table:
    table = Table(title="ClickHouse inserts", title_justify="left")
    for column in ("table", "inserts", "mean ms", "p95 ms"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for name, s in sorted(snap["insert_latency"].items()):
        p95 = "—" if s["p95_s"] is None else f"{1000 * s['p95_s']:,.1f}"
        table.add_row(name, f"{s['count']:,}", f"{1000 * s['mean_s']:,.1f}", p95)
    return table


def render(snap: dict[str, Any], source: str) -> RenderableType:
    """The whole dashboard for one (merged) snapshot."""
    workers = ", ".join(
        f"{w['id']} {'[green]ready[/]' if w['ready'] else '[yellow]not ready[/]: '}"
        f"{'; '.join(w['reasons'])}" for w in snap["workers"]
    )
    letters = snap["dead_letters"]
    stored = letters["stored"]
    stored_text = "—" if stored is None else ", ".join(f"{k} {v:,}" for k, v in stored.items()) \
        or "0"
    parts: list[RenderableType] = [
        Text.from_markup(f"[bold]vigie top[/] — {source} — group "
                         f"{snap['worker']['group']} — {snap['worker']['now']}"),
        Text.from_markup(f"workers: {workers}"),
        _stages(snap),
        _lag(snap),
        Text(f"dead letters: {letters['published']:,.0f} published by these workers; "
             f"stored in ClickHouse by stage: {stored_text}"),
        _alerts(snap),
        _tasks(snap),
        _latency(snap),
    ]
    if snap.get("clickhouse_error"):
        parts.append(Text(f"ClickHouse: {snap['clickhouse_error']}", style="red"))
    return Group(*parts)


def snapshot(urls: list[str]) -> dict[str, Any]:
    snaps, errors = [], []
    for url in urls:
        try:
            snaps.append(fetch_status(url))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            errors.append(f"{url}: {exc}")
    if not snaps:
        raise ConnectionError("; ".join(errors))
    merged = merge(snaps)
    merged["unreachable"] = errors
    return merged


def top(
    url: Annotated[list[str] | None, typer.Option(
        "--url", help="Worker web address, e.g. http://host:6066 (repeat for several).")] = None,
    once: Annotated[bool, typer.Option("--once", help="Print one snapshot and exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between refreshes.")] = 1.0,
) -> None:
    """Live dashboard of running workers: throughput, lag, alerts, task queues, inserts."""
    urls = url or [local_pipeline()]
    source = ", ".join(urls)

    def view() -> RenderableType:
        try:
            snap = snapshot(urls)
        except ConnectionError as exc:
            return Text(f"cannot reach {exc}", style="red")
        body = render(snap, source)
        if snap["unreachable"]:
            return Group(body, Text("unreachable: " + "; ".join(snap["unreachable"]),
                                    style="red"))
        return body

    if once:
        try:
            console.print(render(snapshot(urls), source))
        except ConnectionError as exc:
            console.print(f"[red]cannot reach {exc}[/]")
            raise typer.Exit(1) from None
        return
    with Live(view(), console=console, auto_refresh=False, screen=False) as live:
        try:
            while True:
                time.sleep(interval)
                live.update(view(), refresh=True)
        except KeyboardInterrupt:
            pass
