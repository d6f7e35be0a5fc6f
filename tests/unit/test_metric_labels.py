"""The bounds on /metrics label values, and the per-process counters behind them (no I/O).

The served metrics are checked end to end in tests/web/test_metrics.py; here the rules for
names that a server test cannot easily produce: a job the app does not define, a schedule that
only the code declares, and the memory bound of a long-lived worker's counters.
"""

from __future__ import annotations

from datetime import UTC, datetime

import rota
from rota.runs import Run, RunState
from rota.web import metric_labels as labels
from rota.worker.stats import MAX_VALUES, WorkerStats

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def make_app() -> rota.App:
    app = rota.App(database="sqlite:///unused.db", queues=["bulk"])

    @app.job(queue="mail")
    def send() -> None: ...

    @app.periodic(every=60)
    def tick() -> None: ...

    return app


def run(job: str = "send", queue: str = "mail") -> Run:
    return Run(1, job, queue, RunState.RUNNING, {}, 0, 1, 3, None, None, T0, T0, T0, None, None)


def test_a_job_the_app_does_not_define_reads_other() -> None:
    job = labels.job_rule(make_app(), ["send", "renamed_last_week", "tick"])
    assert [job(n) for n in ("send", "tick", "renamed_last_week")] == ["send", "tick", "other"]


def test_queues_are_the_apps_own_and_the_first_50_others() -> None:
    others = [f"q{n}" for n in range(80)]
    queue = labels.queue_rule(make_app(), ["mail", *others, "q0"])
    assert queue.keep == {"default", "mail", "bulk", *others[:50]}
    assert queue("q50") == "other"


def test_schedules_declared_in_code_keep_their_name_before_they_are_stored() -> None:
    schedule = labels.schedule_rule(make_app(), [])
    assert (schedule("tick"), schedule("removed")) == ("tick", "other")


def test_a_workers_counters_keep_bounded_memory_and_count_runs_apart_from_attempts() -> None:
    stats = WorkerStats()
    stats.ended(run(), RunState.RETRYING, 0.1)
    stats.ended(run(), RunState.SUCCEEDED, 0.1)
    for n in range(MAX_VALUES + 10):  # one queue is "mail"
        stats.ended(run(queue=f"q{n}"), RunState.SUCCEEDED, 0.1)
    snap = stats.snapshot()
    assert len(snap.queues) == MAX_VALUES
    assert snap.attempts[("send", "other", "succeeded")] == 11
    assert snap.attempts[("send", "mail", "retrying")] == 1
    assert snap.runs_finished[("send", "mail", "succeeded")] == 1
    assert ("send", "mail", "retrying") not in snap.runs_finished
