"""Ingest commands: simulate raw traffic, normalize raw files, replay them, serve webhooks.

File formats. With ``--platform``, a file is raw payloads of that platform, one per
line, exactly as the platform sent them. Without it, a line is an envelope
``{"platform", "key", "payload"}`` (or ``"payload_b64"`` for bytes that are not
JSON), so one file can hold every platform.
"""

from __future__ import annotations

import asyncio
import base64
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from base.settings import Settings, load_settings
from core.brands import BrandDirectory
from core.normalize import Source, normalize_or_refuse
from core.parsers import parser_for
from ingest.publisher import RawPublisher
from lab.simulator import RawMessage, Simulator, for_wire, render
from schemas.deadletter import DeadLetter
from schemas.events import Platform

err = Console(stderr=True, soft_wrap=True)

PlatformOption = Annotated[
    Platform | None, typer.Option("--platform", "-p", help="Platform of the raw payloads.")
]


def _brands(settings: Settings) -> BrandDirectory:
    return BrandDirectory.load(getattr(settings, "brands_file", None))


def envelope(message: RawMessage) -> bytes:
    """One self-describing line for a multi-platform file."""
    line: dict[str, Any] = {"platform": message.platform.value, "key": message.key.decode()}
    try:
        orjson.loads(message.value)
        line["payload"] = orjson.Fragment(message.value)
    except orjson.JSONDecodeError:
        line["payload_b64"] = base64.b64encode(message.value).decode()
    return orjson.dumps(line)


def read_lines(
    lines: Iterable[bytes], platform: Platform | None
) -> Iterator[tuple[int, Platform, bytes | None, bytes]]:
    """(line number, platform, key, raw bytes) of each non-empty line of a raw file."""
    for number, line in enumerate(lines, start=1):
        line = line.rstrip(b"\r\n")
        if not line.strip():
            continue
        if platform is not None:
            yield number, platform, None, line
            continue
        try:
            item = orjson.loads(line)
            raw = (base64.b64decode(item["payload_b64"]) if "payload_b64" in item
                   else orjson.dumps(item["payload"]))
            yield number, Platform(item["platform"]), str(item.get("key", "")).encode(), raw
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            err.print(f"line {number}: not an envelope ({exc}); pass --platform for raw files")


def _messages(
    settings: Settings, platform: Platform | None, count: int, seed: int, rate: float,
    invalid_share: float, duplicate_share: float, scenario: str | None,
) -> Iterator[RawMessage]:
    brands = _brands(settings)
    if scenario is None:
        simulator = Simulator(
            brands, seed=seed, events_per_second=rate, invalid_share=invalid_share,
            duplicate_share=duplicate_share, platforms=(platform,) if platform else None,
        )
        yield from simulator.messages(count)
        return
    from lab.scenarios import SCENARIOS
    from lab.scenarios import scenario as build

    if scenario not in SCENARIOS:
        raise typer.BadParameter(f"unknown scenario; one of {', '.join(SCENARIOS)}")
    produced = 0
    for event in build(scenario, seed, brands).events:
        if produced >= count:
            return
        if platform is None or event.platform == platform:
            produced += 1
            yield render(for_wire(event, brands))


def simulate(
    platform: PlatformOption = None,
    count: Annotated[int, typer.Option("--count", "-n", min=0, help="Payloads to produce.")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same traffic.")] = 0,
    rate: Annotated[float, typer.Option(help="Peak messages per second of simulated time.")]
    = 50.0,
    invalid_share: Annotated[float, typer.Option(help="Share of malformed payloads.")] = 0.0,
    duplicate_share: Annotated[float, typer.Option(help="Share of webhook re-deliveries.")]
    = 0.0,
    scenario: Annotated[str | None, typer.Option(help="Render a scripted scenario instead.")]
    = None,
    out: Annotated[Path | None, typer.Option(help="Write JSONL here instead of stdout.")] = None,
    truth: Annotated[Path | None, typer.Option(help="Write the expected events here.")] = None,
    kafka: Annotated[bool, typer.Option(help="Publish to raw.<platform> topics instead.")]
    = False,
) -> None:
    """Print N raw payloads of a platform as JSONL (every platform as envelopes without -p)."""
    settings = load_settings()
    messages = _messages(settings, platform, count, seed, rate, invalid_share, duplicate_share,
                         scenario)
    with ExitStack() as stack:
        truth_file = stack.enter_context(truth.open("wb")) if truth else None
        if kafka:
            sent = asyncio.run(_publish(settings, _tee(messages, truth_file), "simulator",
                                        count, None))
            err.print(f"published {sent} payloads")
            return
        sink: IO[bytes] = stack.enter_context(out.open("wb")) if out else sys.stdout.buffer
        for message in _tee(messages, truth_file):
            sink.write((message.value if platform else envelope(message)) + b"\n")
        sink.flush()


def _tee(messages: Iterable[RawMessage], truth: IO[bytes] | None) -> Iterator[RawMessage]:
    """Pass messages through, writing their expected events to ``truth``."""
    for message in messages:
        if truth is not None:
            for event in message.expected:
                truth.write(event.model_dump_json().encode() + b"\n")
        yield message


async def _publish(
    settings: Settings, messages: Iterable[RawMessage], source: str, total: int | None,
    pace: Iterator[float] | None,
) -> int:
    """Publish with a progress bar; ``pace`` yields the second (from start) of each send."""
    sent = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    async with RawPublisher(settings) as publisher:
        with Progress(*columns, console=err, transient=False) as progress:
            task = progress.add_task("publishing", total=total)
            pending: list[asyncio.Future[Any]] = []
            start = time.monotonic()
            for message in messages:
                if pace is not None:
                    delay = start + next(pace) - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)  # pacing the replay, not waiting on a result
                pending.append(await publisher.send(
                    message.platform, message.value, source=source, key=message.key or None))
                sent += 1
                progress.advance(task)
                if len(pending) >= 1000:
                    await asyncio.gather(*pending)
                    pending.clear()
            await asyncio.gather(*pending)
    return sent


def normalize(
    file: Annotated[str, typer.Argument(help="Raw JSONL file, or - for stdin.")] = "-",
    platform: PlatformOption = None,
) -> None:
    """Raw JSONL in, normalized-event JSONL out; bad lines are reported on stderr and skipped."""
    brands = _brands(load_settings())
    out = sys.stdout.buffer
    with ExitStack() as stack:
        try:
            stream: IO[bytes] = (
                sys.stdin.buffer if file == "-" else stack.enter_context(Path(file).open("rb"))
            )
        except OSError as exc:
            err.print(f"cannot read {file}: {exc.strerror}")
            raise typer.Exit(2) from None
        for number, line_platform, key, raw in read_lines(stream, platform):
            source = Source(topic=file, partition=0, offset=number, key=key)
            result = normalize_or_refuse(line_platform, raw, brands, source)
            if isinstance(result, DeadLetter):
                err.print(f"line {number}: {result.reason}", markup=False, highlight=False)
                continue
            for event in result:
                out.write(event.model_dump_json().encode() + b"\n")
    out.flush()


def _event_seconds(messages: list[RawMessage], speed: float) -> Iterator[float]:
    """Send times that keep the events' own spacing, ``speed`` times faster."""
    first: float | None = None
    last = 0.0
    for message in messages:
        try:
            at = parser_for(message.platform)(orjson.loads(message.value))[0].created_at
            moment = at.timestamp()
        except Exception:  # unreadable payloads go out right after the previous one
            yield last
            continue
        first = moment if first is None else first
        last = max(last, (moment - first) / speed)
        yield last


def replay(
    file: Annotated[Path, typer.Argument(help="Raw JSONL file (envelopes unless -p).")],
    platform: PlatformOption = None,
    rate: Annotated[float | None, typer.Option(help="Messages per second.")] = None,
    speed: Annotated[float | None, typer.Option(
        help="Keep the events' own timing, this many times faster.")] = None,
) -> None:
    """Publish a raw file to the raw topics (backfills, demos), with a progress bar."""
    if rate is not None and speed is not None:
        raise typer.BadParameter("--rate and --speed are exclusive")
    if not file.is_file():
        err.print(f"cannot read {file}")
        raise typer.Exit(2)
    with file.open("rb") as stream:
        messages = [RawMessage(p, key or b"", raw, ()) for _, p, key, raw in
                    read_lines(stream, platform)]
    pace: Iterator[float] | None = None
    if rate is not None:
        pace = (i / rate for i in range(len(messages)))
    elif speed is not None:
        pace = _event_seconds(messages, speed)
    sent = asyncio.run(_publish(load_settings(), messages, f"replay:{file.name}",
                                len(messages), pace))
    err.print(f"published {sent} payloads from {file}")


def webhook(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    dev: Annotated[bool, typer.Option(help="Accept unsigned deliveries where no secret is set."
                                      )] = False,
) -> None:
    """Serve the webhook receiver: verified deliveries are published to raw.<platform>."""
    from ingest.webhook import UnsafeConfiguration, serve

    settings = load_settings()
    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    if dev:
        updates["dev_mode"] = True
    settings = settings.model_copy(
        update={"webhook": settings.webhook.model_copy(update=updates)}
    )

    async def ready(url: str) -> None:
        err.print(f"webhook receiver listening on {url}/webhooks/<platform>")

    try:
        asyncio.run(serve(settings, ready=ready))
    except UnsafeConfiguration as refused:
        err.print(f"refusing to start: {refused}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err.print("stopped")
