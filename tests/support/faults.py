"""Fault-injection helpers shared by the reliability tests: a real `vigie worker` process,
replay through the production publisher, consumer-group progress read with confluent-kafka."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from base.settings import Settings
from ingest.publisher import RawPublisher
from lab.simulator import RawMessage

VIGIE = Path(sys.executable).with_name("vigie")


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}__{key.upper()}" if prefix else key.upper(), inner, out)
    elif value is not None:
        out[f"VIGIE_{prefix}"] = str(value).lower() if isinstance(value, bool) else str(value)


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The ``VIGIE_*`` variables that make a child process build ``settings`` (no secrets)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    values: dict[str, str] = {}
    _flatten("", settings.model_dump(mode="json", exclude_defaults=True), values)
    return env | values | extra


class WorkerProcess:
    """`vigie worker` as production runs it, in its own process, logs to a file."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.env = worker_env(settings)
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(VIGIE), "worker"], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, nothing is flushed or committed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait for a clean exit (SIGKILL after ``timeout``)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return process.returncode if process else 0
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def log_tail(self, lines: int = 40) -> str:
        """The last warnings and errors the worker logged, for a failure message."""
        if not self.log.exists():
            return "(no log)"
        kept = [line for line in self.log.read_text(errors="replace").splitlines()
                if " WARNING " in line or " ERROR " in line or "Traceback" in line]
        return "\n".join(kept[-lines:]) or "(no warning or error logged)"


Ends = dict[tuple[str, int], int]


class GroupProgress:
    """Committed offsets of a consumer group against the end offsets the replay was
    acknowledged at (the embedded broker's ListOffsets answer can lag behind its log)."""

    def __init__(self, bootstrap: str, group: str, ends: Ends) -> None:
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                                  "enable.auto.commit": False})
        self.ends = ends

    def committed(self) -> Ends:
        asked = [TopicPartition(t, p) for t, p in self.ends]
        return {(tp.topic, tp.partition): max(tp.offset, 0)
                for tp in self.consumer.committed(asked, timeout=10)}

    def lag(self) -> tuple[int, int]:
        """``(records committed, records still behind)`` over every replayed partition."""
        done = sum(self.committed().values())
        return done, sum(self.ends.values()) - done

    def behind(self) -> dict[tuple[str, int], tuple[int, int]]:
        """``(committed, end)`` of every partition whose commit is short of its end."""
        committed = self.committed()
        return {key: (committed.get(key, 0), end) for key, end in self.ends.items()
                if committed.get(key, 0) < end}

    def close(self) -> None:
        self.consumer.close()


def wait_until(check: Any, within: float, what: str, every: float = 0.25) -> None:
    """Poll a synchronous ``check`` until it is true or the deadline passes."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {within}s waiting for {what}")


async def replay(settings: Settings, messages: Iterable[RawMessage], ends: Ends) -> Ends:
    """Publish raw deliveries through the production publisher (acks=all); ``ends`` is
    updated with the next offset of every partition written, and returned."""
    async with RawPublisher(settings, linger_ms=20) as publisher:
        pending = [await publisher.send(m.platform, m.value, source="replay", key=m.key)
                   for m in messages]
        for meta in await asyncio.gather(*pending):
            key = (meta.topic, meta.partition)
            ends[key] = max(ends.get(key, 0), meta.offset + 1)
    return ends
