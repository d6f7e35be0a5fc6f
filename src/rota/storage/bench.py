"""The storage `rota bench` needs beside the ``Store``: a bare claim loop, and its own cleanup.

The bare loop is the yardstick every rota figure is divided by: the least a job system must
do on the same database (insert a row; claim ``k`` rows in one statement, then mark them
done), on a table of its own (``rota_bench_bare``), with no Python work around it. The rest
measures and deletes only what the bench made: runs of its queue whose job names carry its
prefix, its schedule's fire history, its queue's row, and the node rows of the worker
processes it started.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Span:
    """The succeeded runs of a queue: how many, and the first start and last finish (epoch)."""

    count: int
    first_start: float | None
    last_finish: float | None


@dataclass(frozen=True, slots=True)
class ForgetParams:
    queue: str
    job_prefix: str
    """Runs of ``queue`` whose job starts with this, and schedules' fires named so."""
    host: str
    pids: Sequence[int]
    """Node rows of these stopped processes on ``host``."""


class BenchStore(Protocol):
    def bare_reset(self) -> None:
        """An empty ``rota_bench_bare`` table (dropped and made again)."""

    def bare_insert_each(self, count: int) -> None:
        """``count`` rows, one statement and one transaction each."""

    def bare_insert_bulk(self, count: int) -> None:
        """``count`` rows at once: COPY on PostgreSQL, executemany in one transaction on SQLite."""

    def bare_drain(self, k: int) -> int:
        """Claim ``k`` rows at a time and mark them done until none is left; how many."""

    def bare_drop(self) -> None: ...

    def span(self, queue: str) -> Span: ...

    def forget(self, params: ForgetParams) -> int:
        """Delete what the bench made (see the module); how many runs."""

    def close(self) -> None: ...


def like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
