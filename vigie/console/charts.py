"""The geometry of the page's small charts, computed here and drawn as inline SVG by
the templates (no chart library, nothing to load)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    minute: str
    count: int
    in_window: bool

    @property
    def label(self) -> str:
        return f"{self.minute}: {self.count}"


@dataclass(frozen=True, slots=True)
class Trajectory:
    """Per-minute bars of an incident's messages, its baseline as ticks, in a
    ``width`` × ``height`` box."""

    width: int
    height: int
    bars: list[Bar]
    baseline: list[tuple[float, float, float]]  # per minute that has one: x1, x2, y
    peak: int


def trajectory(points: Sequence[tuple[str, int, float | None, bool]], width: int = 320,
               height: int = 80) -> Trajectory:
    """``points``: (minute label, count, baseline or None, inside the alert's window)."""
    top = max([1.0, *(float(c) for _, c, _, _ in points),
               *(b for _, _, b, _ in points if b is not None)])
    slot = width / max(len(points), 1)
    bars, line = [], []
    # The baseline is drawn minute by minute (a tick across each bar) rather than as a
    # line: it is known for the alert's minutes only.
    for i, (label, count, baseline, in_window) in enumerate(points):
        h = height * count / top
        bars.append(Bar(round(i * slot + 1, 1), round(height - h, 1),
                        round(max(slot - 2, 1), 1), round(h, 1), label, count, in_window))
        if baseline is not None:
            line.append((round(i * slot, 1), round((i + 1) * slot, 1),
                         round(height - height * baseline / top, 1)))
    return Trajectory(width, height, bars, line,
                      max((c for _, c, _, _ in points), default=0))


@dataclass(frozen=True, slots=True)
class TermBar:
    term: str
    count: int
    expected: float
    width: float  # of the count's bar
    expected_width: float  # where the baseline's mark sits


def term_bars(terms: Sequence[tuple[str, int, float]], width: int = 160) -> list[TermBar]:
    """Horizontal bars of each term's count, with a mark at what the baseline expected."""
    top = max([1.0, *(float(c) for _, c, _ in terms), *(e for _, _, e in terms)])
    return [TermBar(t, c, e, round(width * c / top, 1), round(width * e / top, 1))
            for t, c, e in terms]
