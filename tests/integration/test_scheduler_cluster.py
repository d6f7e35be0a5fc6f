"""The scheduler as a cluster: real scheduler and worker processes on SQLite and PostgreSQL.

Each node is ``sys.executable`` running a small script written into the test's tmp dir: it
builds ``rota.App(database=url)``, declares its jobs (and, for the cluster test, an
``@app.periodic(every=1)``) and serves until SIGTERM. The test process holds its own app on the
same database to add, pause, resume and trigger schedules and to read runs and fire history;
it never runs a scheduler or a worker itself.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import rota
from rota.scheduling.model import FireRecord
from rota.scheduling.scheduler import Scheduler, SchedulerConfig
from rota.storage import open_store
from tests.integration.procs import wait_started
from tests.support import Process, Processes, spawn, wait_until

SECOND = timedelta(seconds=1)

SCRIPT = """\
import logging, os, sys, time
from pathlib import Path

import rota

url, role, marks = sys.argv[1], sys.argv[2], Path(sys.argv[3])
logging.basicConfig(
    level=logging.INFO, stream=sys.stderr,
    format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s",
)
app = rota.App(database=url, name="sched-it", lease_seconds=5, shutdown_timeout=5)

if os.environ.get("SCHED_PERIODIC") == "1":
    @app.periodic(every=1)
    def tick() -> None:
        pass
else:
    @app.job
    def tick() -> None:
        pass

@app.job
def noop() -> None:
    pass

@app.job
def hold() -> None:
    # Runs until the test writes the release file (never longer than 30 s).
    end = time.monotonic() + 30
    while not (marks / "release").exists() and time.monotonic() < end:
        time.sleep(0.01)

if role == "scheduler":
    app.serve_forever(lambda: app.start(worker=False, scheduler=True, maintenance=False))
else:
    app.serve_forever(lambda: app.start(scheduler=False, concurrency=8))
"""


def wait_for_time(moment: datetime) -> None:
    """Let wall-clock time pass until ``moment`` (only where time itself is what we wait for)."""
    wait_until(lambda: datetime.now(UTC) >= moment, 60, f"the clock to reach {moment}")


class Node(Process):
    def terminate(self) -> int:
        return self.stop(signal.SIGTERM, 20)


class Nodes(Processes):
    """Scheduler and worker processes of one test; all killed at teardown."""

    def __init__(self, workdir: Path, database: str) -> None:
        super().__init__()
        self.workdir, self.database = workdir, database
        self.marks = workdir / "marks"
        self.marks.mkdir()
        self.script = workdir / "node.py"
        self.script.write_text(SCRIPT)

    def spawn(self, role: str, *, periodic: bool = False) -> Node:
        name = f"{role}{len(self.spawned) + 1}"
        log_path = self.workdir / f"{name}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "SCHED_PERIODIC": "1" if periodic else ""}
        argv = [sys.executable, str(self.script), self.database, role, str(self.marks)]
        node = Node(name, spawn(argv, log_path, cwd=self.workdir, env=env), log_path)
        self.add(node)
        return node

    def start(self, role: str, count: int = 1, *, periodic: bool = False) -> list[Node]:
        started = [self.spawn(role, periodic=periodic) for _ in range(count)]
        for node in started:
            wait_started(node, 30)
        return started

    def release(self) -> None:
        (self.marks / "release").write_text("go")


@pytest.fixture
def app(database_url: str) -> Iterator[rota.App]:
    """The test's own app: the same job names as the nodes, never running any service."""
    a = rota.App(database=database_url, name="sched-test")

    @a.job
    def tick() -> None: ...

    @a.job
    def noop() -> None: ...

    @a.job
    def hold() -> None: ...

    a.store  # noqa: B018 - create the schema before the nodes start
    yield a
    a.close()


@pytest.fixture
def nodes(tmp_path: Path, database_url: str, app: rota.App) -> Iterator[Nodes]:
    n = Nodes(tmp_path, database_url)
    try:
        yield n
    finally:
        n.cleanup()
        print(n.logs())  # shown by pytest when the test failed


def runs_of(app: rota.App, schedule: str) -> list[rota.Run]:
    runs = [r for r in app.runs.list(limit=1000) if r.schedule == schedule]
    return sorted(runs, key=lambda r: r.run_at)


def history(app: rota.App, schedule: str) -> list[FireRecord]:
    return sorted(app.schedules.fires(schedule, 10_000), key=lambda f: f.fire_time)


def assert_one_run_per_fire_time(runs: list[rota.Run]) -> None:
    """No (schedule, run_at) twice, and consecutive fire times exactly one second apart."""
    keys = [(r.schedule, r.run_at) for r in runs]
    assert len(keys) == len(set(keys)), "a fire time got two runs"
    gaps = [b.run_at - a.run_at for a, b in itertools.pairwise(runs)]
    assert gaps and all(g == SECOND for g in gaps), f"gaps: {sorted(set(gaps))}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# -- exactly once with three schedulers, one of them killed ---------------------------------
def test_three_schedulers_fire_each_time_exactly_once_and_survive_a_kill(
    app: rota.App, nodes: Nodes, backend: str
) -> None:
    [worker] = nodes.start("worker")
    schedulers = nodes.start("scheduler", 3, periodic=True)
    wait_until(lambda: len(runs_of(app, "tick")) >= 7, 20, "seven fires")

    victim = schedulers[0]
    victim.kill9()
    killed_at = datetime.now(UTC)
    wait_for_time(killed_at + timedelta(seconds=7))
    end = datetime.now(UTC)
    for s in schedulers[1:]:
        assert s.terminate() == 0
    wait_until(lambda: all(r.state.terminal for r in runs_of(app, "tick")), 20, "runs to end")

    runs = runs_of(app, "tick")
    assert_one_run_per_fire_time(runs)
    anchor = app.schedules.get("tick").trigger["anchor"]
    assert runs[0].run_at == datetime.fromisoformat(anchor), "from the very first fire time"
    assert runs[-1].run_at > end - 2 * SECOND, "the survivors kept firing to the end"
    assert len([r for r in runs if r.run_at > killed_at]) >= 6
    assert all(r.created_at - r.run_at <= SECOND for r in runs), "none missed, even at the kill"
    assert all(r.state == "succeeded" for r in runs)
    records = history(app, "tick")
    assert [(f.fire_time, f.run_id, f.outcome) for f in records] == [
        (r.run_at, r.id, "fired") for r in runs
    ]
    victim_id = node_id(victim)
    assert all(f.node_id != victim_id for f in records if f.fire_time > killed_at)
    assert worker.popen.poll() is None

    # Accuracy: fire time to the start of its run, on an idle worker node.
    latency = [(r.started_at - r.run_at).total_seconds() for r in runs if r.started_at]
    p50, p99 = percentile(latency, 50), percentile(latency, 99)
    print(
        f"\nACCURACY {backend}: {len(latency)} fires, p50 {p50 * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, max {max(latency) * 1000:.1f} ms; "
        f"fires won by {len({f.node_id for f in records})} scheduler nodes"
    )
    assert 0 <= p50 < 0.5 and p99 < 1.0


def node_id(node: Node) -> str:
    """The cluster node id the process logged when it started."""
    match = re.search(r" node (\S+) started ", node.log())
    assert match, node.log()
    return match.group(1)


# -- misfire policies across a scheduler outage ---------------------------------------------
def classify(app: rota.App, name: str) -> tuple[list[FireRecord], list[rota.Run], list[rota.Run]]:
    """The fire history, the runs created on time, and those created late (> grace)."""
    runs = runs_of(app, name)
    late = [r for r in runs if r.created_at - r.run_at > SECOND]
    on_time = [r for r in runs if r not in late]
    return history(app, name), on_time, late


def test_misfire_policies_after_the_schedulers_were_down(app: rota.App, nodes: Nodes) -> None:
    [scheduler] = nodes.start("scheduler")
    names = [f"m-{p}" for p in ("skip", "run_once", "run_all")]
    for name in names:
        app.add_schedule(name, "noop", every=1, misfire=name[2:])
    wait_until(lambda: all(len(runs_of(app, n)) >= 2 for n in names), 20, "two fires each")
    assert scheduler.terminate() == 0
    down_at = datetime.now(UTC)
    wait_for_time(down_at + timedelta(seconds=4))  # several fire times pass, none handled
    up_at = datetime.now(UTC)
    nodes.start("scheduler")
    wait_until(
        lambda: all(runs_of(app, n)[-1].run_at > up_at + 2 * SECOND for n in names),
        20,
        "steady fires again",
    )

    for name in names:
        records, on_time, late = classify(app, name)
        times = [f.fire_time for f in records]
        assert all(b - a == SECOND for a, b in itertools.pairwise(times)), name
        assert all(r.run_at >= up_at - SECOND or r.run_at < down_at for r in on_time), name
        unrun = [f for f in records if f.run_id is None]
        runs = {r.run_at for r in on_time + late}
        assert {f.fire_time for f in records if f.run_id is not None} == runs, name
        if name == "m-skip":
            assert late == [], "skip: none of the missed times runs"
            assert len(unrun) >= 3 and {f.outcome for f in unrun} == {"skipped"}
        elif name == "m-run_once":
            assert len(late) == 1, "run_once: one catch-up run for all the missed times"
            assert len(unrun) >= 2 and {f.outcome for f in unrun} == {"missed"}
            assert late[0].run_at == unrun[-1].fire_time + SECOND, "at the latest missed time"
        else:
            assert unrun == [], "run_all: every missed time runs"
            assert len(late) >= 3
            assert_one_run_per_fire_time(runs_of(app, name))
        gap = [t for t in times if down_at <= t < up_at - SECOND]
        assert len(gap) >= 3, f"{name}: the outage covered several fire times"


# -- pause, resume, trigger -----------------------------------------------------------------
def test_pause_resume_and_trigger_from_the_python_api(app: rota.App, nodes: Nodes) -> None:
    nodes.start("scheduler")
    app.add_schedule("p", "noop", every=1)
    wait_until(lambda: len(runs_of(app, "p")) >= 2, 20, "two fires")

    paused = app.schedules.pause("p")
    paused_at = datetime.now(UTC)
    assert paused.paused and app.schedules.upcoming("p") == []
    handle = app.schedules.trigger("p")  # a manual run, even while paused
    manual = app.runs.get(handle.id)
    assert manual.schedule == "p" and manual.job == "noop"
    wait_for_time(paused_at + timedelta(seconds=3))
    assert [r.id for r in runs_of(app, "p") if r.run_at > paused_at] == [manual.id]

    resumed = app.schedules.resume("p")
    resumed_at = datetime.now(UTC)
    assert not resumed.paused and resumed.next_fire_at is not None
    assert paused_at + 2 * SECOND < resumed.next_fire_at <= resumed_at + SECOND
    upcoming = app.schedules.upcoming("p", 3)
    assert [b - a for a, b in itertools.pairwise(upcoming)] == [SECOND, SECOND]
    wait_until(
        lambda: len([r for r in runs_of(app, "p") if r.run_at > resumed_at]) >= 2,
        20,
        "fires after resume",
    )
    during = [r.id for r in runs_of(app, "p") if paused_at < r.run_at <= resumed_at]
    assert during == [manual.id], "no run for the fire times while paused, none caught up"
    assert all(f.fire_time <= paused_at or f.fire_time > resumed_at for f in history(app, "p"))


# -- overlap=False --------------------------------------------------------------------------
def test_no_overlap_skips_fires_while_the_previous_run_still_runs(
    app: rota.App, nodes: Nodes
) -> None:
    nodes.start("worker")
    nodes.start("scheduler")
    app.add_schedule("o", "hold", every=1, overlap=False)

    def overlaps() -> list[FireRecord]:
        return [f for f in history(app, "o") if f.outcome == "overlap"]

    wait_until(lambda: len(overlaps()) >= 2, 20, "two fires skipped for overlap")
    [first] = runs_of(app, "o")
    assert first.state in ("queued", "running")
    assert app.store.schedule_active_runs("o") == 1
    nodes.release()
    wait_until(lambda: len(runs_of(app, "o")) >= 2, 20, "a new run once the first ended")

    runs = runs_of(app, "o")
    assert app.runs.get(first.id).state == "succeeded"
    skipped = overlaps()
    assert all(first.run_at < f.fire_time < runs[1].run_at for f in skipped)
    assert all(f.run_id is None for f in skipped)


# -- the scheduler service in-process, with an injected clock --------------------------------
class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.t = now

    def now(self) -> datetime:
        return self.t


def service_app(database_url: str, clock: FakeClock) -> rota.App:
    a = rota.App(database=database_url, name="sched-clock", clock=clock)

    @a.job
    def noop() -> None: ...

    return a


def test_schedulers_sharing_a_database_fire_each_time_once_with_an_injected_clock(
    database_url: str,
) -> None:
    """Three scheduler services on their own stores, each pass at the same injected instant."""
    clock = FakeClock(datetime(2030, 1, 1, tzinfo=UTC))
    a = service_app(database_url, clock)
    a.add_schedule("five", "noop", every=5)
    a.add_schedule("minutely", "noop", cron="* * * * *")
    stores = [open_store(database_url) for _ in range(3)]
    services = [Scheduler(s, a.jobs, SchedulerConfig(f"n{i}"), clock) for i, s in enumerate(stores)]
    try:
        created = 0
        for step in range(1, 361):  # three minutes, a pass of each node every half second
            clock.t = datetime(2030, 1, 1, tzinfo=UTC) + step * timedelta(seconds=0.5)
            created += sum(s.run_once() for s in services[step % 3 :] + services[: step % 3])
    finally:
        for s in stores:
            s.close()
    five, minutely = runs_of(a, "five"), runs_of(a, "minutely")
    assert [r.run_at for r in minutely] == [
        datetime(2030, 1, 1, 0, m, tzinfo=UTC) for m in (1, 2, 3)
    ]
    assert [r.run_at for r in five] == [
        datetime(2030, 1, 1, tzinfo=UTC) + timedelta(seconds=5 * k) for k in range(1, 37)
    ]
    assert created == len(five) + len(minutely)
    a.close()


def test_no_overlap_makes_one_run_when_several_fire_times_are_due_at_once(
    database_url: str,
) -> None:
    """A run_all catch-up must not start several runs side by side when overlap=False."""
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    clock = FakeClock(t0)
    a = service_app(database_url, clock)
    a.add_schedule("solo", "noop", every=1, misfire="run_all", overlap=False)
    a.add_schedule("many", "noop", every=1, misfire="run_all")
    service = Scheduler(a.store, a.jobs, SchedulerConfig("n1"), clock)
    clock.t = t0 + timedelta(seconds=10.5)  # the scheduler was down: ten times are due
    service.run_once()
    assert len(runs_of(a, "many")) == 10
    [solo] = runs_of(a, "solo")
    records = history(a, "solo")
    assert [f.fire_time for f in records] == [t0 + k * SECOND for k in range(1, 11)]
    assert [f.outcome for f in records] == ["fired"] + ["overlap"] * 9
    assert solo.run_at == records[0].fire_time
    clock.t += SECOND
    service.run_once()
    assert len(runs_of(a, "solo")) == 1  # the first still waits: this fire overlaps it too
    assert history(a, "solo")[-1].outcome == "overlap"
    a.close()


DST_DAYS = [  # zone, cron, the day of the change, the day's fire time (local)
    ("Europe/Berlin", "30 2 * * *", date(2025, 3, 30), time(3, 0)),
    ("Europe/Berlin", "30 2 * * *", date(2025, 10, 26), time(2, 30)),
    ("America/New_York", "30 2 * * *", date(2025, 3, 9), time(3, 0)),
    ("America/New_York", "30 1 * * *", date(2025, 11, 2), time(1, 30)),
]


@pytest.mark.parametrize(("zone", "cron", "day", "local"), DST_DAYS, ids=str)
def test_a_daily_job_fires_once_on_dst_days_through_the_service(
    database_url: str, zone: str, cron: str, day: date, local: time
) -> None:
    """Passes every 10 minutes of real time across the change: one run on the day, at 03:00
    local when 02:30 is skipped, at the first occurrence when the time is repeated."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day - timedelta(days=1), time(12), tz).astimezone(UTC)
    clock = FakeClock(start)
    a = service_app(database_url, clock)
    a.add_schedule("daily", "noop", cron=cron, timezone=zone, misfire="skip")
    service = Scheduler(a.store, a.jobs, SchedulerConfig("n1"), clock)
    for step in range(6 * 48 + 1):
        clock.t = start + step * timedelta(minutes=10)
        service.run_once()
    runs = [r.run_at.astimezone(tz) for r in runs_of(a, "daily")]
    usual = time(int(cron.split()[1]), int(cron.split()[0]))
    assert [(r.date(), r.time()) for r in runs] == [(day, local), (day + timedelta(days=1), usual)]
    first = datetime.combine(day, local, tz)  # fold=0: the first occurrence
    assert runs[0].astimezone(UTC) == first.astimezone(UTC)
    assert {f.outcome for f in history(a, "daily")} == {"fired"}
    a.close()


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_a_schedule_added_in_the_second_pass_of_a_repeated_hour_waits_for_tomorrow(
    database_url: str, zone: str
) -> None:
    """Its time's first occurrence passed before it existed: no run for it, none twice."""
    tz = ZoneInfo(zone)
    day = {"Europe/Berlin": date(2025, 10, 26), "America/New_York": date(2025, 11, 2)}[zone]
    repeated = {"Europe/Berlin": time(2, 30), "America/New_York": time(1, 30)}[zone]
    second = datetime.combine(day, repeated, tz).replace(fold=1).astimezone(UTC)
    clock = FakeClock(second - timedelta(minutes=20))
    a = service_app(database_url, clock)
    cron = f"{repeated.minute} {repeated.hour} * * *"
    added = a.add_schedule("daily", "noop", cron=cron, timezone=zone)
    tomorrow = datetime.combine(day + timedelta(days=1), repeated, tz).astimezone(UTC)
    assert added.next_fire_at == tomorrow
    assert a.schedules.upcoming("daily", 1) == [tomorrow]
    service = Scheduler(a.store, a.jobs, SchedulerConfig("n1"), clock)
    for minutes in range(0, 40, 5):
        clock.t = second - timedelta(minutes=20) + timedelta(minutes=minutes)
        assert service.run_once() == 0
    a.close()
