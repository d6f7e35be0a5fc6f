"""Use cases: the operator verbs every launcher shares (Python API, CLI, REST, dashboard).

Naming: ``rota.usecases.<noun>`` holds the verbs on one kind of record as plain functions
over the store (``runs``, ``schedules``, ``batches``, ``nodes``): they check their input,
apply the rule, and call the store. Beside each, ``<noun>_facade`` is the small object an App
exposes for it (``app.runs``, ``app.schedules``, ``app.batches``, ``app.nodes``), which binds
the verbs to the app's store and clock. A launcher calls the facade; nothing else holds the
rule, so a verb behaves the same from every launcher. Long-running background parts (the
worker, the scheduler, maintenance) are services, not use cases: they live in ``rota.worker``,
``rota.scheduling.scheduler`` and ``rota.cluster``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rota.handle import RunHandle
from rota.jobs import LaunchOptions

Launch = Callable[[str, Sequence[Mapping[str, Any]], LaunchOptions], list[RunHandle]]
"""The one launch path as the use cases get it (``App.launch``): one handle per argument set."""
