"""The overview's charts as numbers an SVG template draws: pure, no I/O.

Runs finished per minute over the last hour, succeeded and failed stacked, one bar per
minute, scaled to the busiest minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 600
HEIGHT = 120
GAP = 1.0


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    width: float
    succeeded_y: float
    succeeded_h: float
    failed_y: float
    failed_h: float
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    bars: list[Bar]
    peak: int
    succeeded: int
    failed: int
    width: int = WIDTH
    height: int = HEIGHT


def stacked(minutes: Sequence[tuple[str, int, int]]) -> Chart:
    """Bars of ``(label, succeeded, failed)`` per minute, oldest first."""
    peak = max((s + f for _, s, f in minutes), default=0)
    step = WIDTH / max(1, len(minutes))
    scale = HEIGHT / peak if peak else 0.0
    bars = []
    for i, (label, succeeded, failed) in enumerate(minutes):
        fh, sh = failed * scale, succeeded * scale
        bars.append(
            Bar(
                x=round(i * step, 2),
                width=round(max(1.0, step - GAP), 2),
                failed_y=round(HEIGHT - fh, 2),
                failed_h=round(fh, 2),
                succeeded_y=round(HEIGHT - fh - sh, 2),
                succeeded_h=round(sh, 2),
                label=f"{label}: {succeeded} succeeded, {failed} failed",
            )
        )
    return Chart(bars, peak, sum(s for _, s, _ in minutes), sum(f for _, _, f in minutes))
