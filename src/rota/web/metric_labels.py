"""The label values ``/metrics`` may show, so that its series stay bounded.

A launcher may send any queue name, and stored runs and fire history keep names that the app no
longer defines; one series per such name would grow without end. The rules (``OTHER`` collects
the rest, its counts kept, so sums over a label stay exact):

- ``job``: the jobs this app defines (batch jobs and rota's own included); a stored run of a
  job it does not define counts as ``other``.
- ``queue``: the queues the app names (its jobs' queues and its ``queues`` setting), plus at
  most ``EXTRA_QUEUES`` others: for the stored run counts, those holding the most runs; for the
  counters of this process, the first it met (so that a counter never moves to another series
  from one scrape to the next).
- ``schedule``: the stored schedules (as many as the operator made) and the app's
  ``@app.periodic`` ones; the fire history of schedules that no longer exist counts as
  ``other``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from rota.app import App
from rota.errors import UnknownJob
from rota.scheduling.model import Schedule
from rota.storage.base import RunCount
from rota.worker.stats import OTHER

EXTRA_QUEUES = 50
K = TypeVar("K")


@dataclass(frozen=True)
class Labels:
    """Keeps the values it knows; any other reads ``OTHER``."""

    keep: frozenset[str]

    def __call__(self, value: str) -> str:
        return value if value in self.keep else OTHER


def job_rule(app: App, names: Iterable[str]) -> Labels:
    """The jobs among ``names`` that ``app`` defines."""
    defined = set()
    for name in set(names):
        try:
            app.get_job(name)
        except UnknownJob:
            continue
        defined.add(name)
    return Labels(frozenset(defined))


def queue_rule(app: App, others: Iterable[str]) -> Labels:
    """The queues ``app`` names, and the first ``EXTRA_QUEUES`` of ``others`` it does not."""
    named = {spec.options.queue for spec in app.jobs.values()} | set(app.served_queues or ())
    extra = dict.fromkeys(q for q in others if q not in named)
    return Labels(frozenset(named | set(itertools.islice(extra, EXTRA_QUEUES))))


def schedule_rule(app: App, stored: Iterable[Schedule]) -> Labels:
    """The stored schedules and the app's declared ones."""
    declared = {spec.name for spec in app.schedules.declared()}
    return Labels(frozenset({s.name for s in stored} | declared))


def by_count(counts: Iterable[RunCount]) -> list[str]:
    """Queue names, the one holding the most stored runs first."""
    totals: dict[str, int] = {}
    for c in counts:
        totals[c.queue] = totals.get(c.queue, 0) + c.count
    return sorted(totals, key=lambda q: (-totals[q], q))


def summed(items: Iterable[tuple[K, int]]) -> dict[K, int]:
    """Counts added up per key (after keys were mapped to their label values)."""
    out: dict[K, int] = {}
    for key, count in items:
        out[key] = out.get(key, 0) + count
    return out
