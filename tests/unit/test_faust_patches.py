"""The private attributes ``streams/faust_patches.py`` touches are where it expects them,
on the versions it was checked against: an upgrade of Faust or aiokafka fails here
first, and the patches are checked again before the pins move."""

from __future__ import annotations

import inspect
from typing import Any

import aiokafka
import faust
import pytest
from aiokafka import AIOKafkaConsumer

from streams import faust_patches


@pytest.fixture
def app() -> Any:
    # No broker is reached: the objects are built, never started.
    return faust.App("patch-probe", broker="kafka://127.0.0.1:1", store="memory://",
                    web_enabled=False)


def test_faust_and_aiokafka_are_the_versions_the_patches_were_checked_against() -> None:
    assert faust.__version__ == faust_patches.FAUST_VERSION
    assert aiokafka.__version__ == faust_patches.AIOKAFKA_VERSION


def test_every_private_attribute_the_patches_touch_exists(app: Any) -> None:
    consumer, producer = app.consumer, app.producer
    thread = consumer._thread
    for owner, name in ((consumer, "_read_offset"), (consumer, "_commit"),
                        (consumer, "getmany"), (thread, "_create_worker_consumer"),
                        (thread, "_highwaters"), (thread, "call_thread"),
                        (thread, "_ensure_consumer"), (producer, "_ensure_producer"),
                        (producer.buffer.pending, "_queue"),
                        (faust.Stream, "_set_current_event")):
        assert hasattr(owner, name), f"{type(owner).__name__}.{name} is gone"
    assert "self._fetch_max_wait_ms" in inspect.getsource(AIOKafkaConsumer.__init__)


def test_the_patches_apply_to_an_app_before_it_starts(app: Any) -> None:
    faust_patches.forget_read_positions(app)
    faust_patches.set_fetch_wait(app, 42)

    async def ends(reported: dict[Any, int]) -> dict[Any, int]:
        return reported

    faust_patches.read_ends_at_last_record(app, ends)
    faust_patches.wrap_getmany(app, lambda fetched: fetched)
    assert app.consumer._read_offset["anything"] is None
