"""The bench's figures: rates beside the bare loop's, latency percentiles, and their JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Rate:
    """Runs per second of one workload, rota's and the bare loop's on the same database."""

    key: str
    label: str
    rota: float
    bare: float | None
    bare_label: str
    runs: int

    @property
    def ratio(self) -> float | None:
        return None if not self.bare else self.rota / self.bare

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "unit": "runs/s",
            "runs": self.runs,
            "rota": round(self.rota, 1),
            "bare": None if self.bare is None else round(self.bare, 1),
            "bare_loop": self.bare_label,
            "ratio": None if self.ratio is None else round(self.ratio, 4),
        }


@dataclass(frozen=True, slots=True)
class Spread:
    """Milliseconds of one latency workload, as percentiles."""

    key: str
    label: str
    samples: Sequence[float]
    points: tuple[int, ...] = (50, 95, 99)

    def percentile(self, p: int) -> float:
        """Nearest rank: the value below which ``p`` % of the samples lie."""
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def to_json(self) -> dict[str, Any]:
        figures: dict[str, Any] = {"label": self.label, "unit": "ms", "runs": len(self.samples)}
        figures.update({f"p{p}": round(self.percentile(p), 3) for p in self.points})
        return figures


@dataclass(slots=True)
class Report:
    backend: str
    database: str
    workers: int
    concurrency: int
    rates: list[Rate] = field(default_factory=list)
    spreads: list[Spread] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "database": self.database,
            "workers": self.workers,
            "concurrency": self.concurrency,
            **{r.key: r.to_json() for r in self.rates},
            **{s.key: s.to_json() for s in self.spreads},
        }
