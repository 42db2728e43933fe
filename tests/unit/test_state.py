"""BufferedTable: reads see the batch's writes; the table sees them only at flush."""

from __future__ import annotations

import pytest

from streams.state import BufferedTable


def test_writes_are_visible_at_once_but_reach_the_table_only_at_flush() -> None:
    table: dict[str, int] = {"a": 1}
    view: BufferedTable[int] = BufferedTable(table)
    view["b"] = 2
    view["a"] = 10
    assert (view["a"], view["b"], view.get("c")) == (10, 2, None)
    assert table == {"a": 1}
    assert view.flush() == 2
    assert table == {"a": 10, "b": 2}


def test_a_key_updated_many_times_in_a_batch_is_written_once() -> None:
    writes: list[str] = []

    class Recording(dict[str, int]):
        def __setitem__(self, key: str, value: int) -> None:
            writes.append(key)
            super().__setitem__(key, value)

    view: BufferedTable[int] = BufferedTable(Recording())
    for n in range(100):
        view["bucket"] = n
    view.flush()
    assert writes == ["bucket"]


def test_deletions_hide_the_key_and_reach_the_table_at_flush() -> None:
    table = {"a": 1, "b": 2}
    view: BufferedTable[int] = BufferedTable(table)
    del view["a"]
    assert "a" not in view
    assert sorted(view) == ["b"]
    assert len(view) == 1
    with pytest.raises(KeyError):
        view["a"]
    with pytest.raises(KeyError):
        del view["missing"]
    view.flush()
    assert table == {"b": 2}
