"""A full disk under a SQLite worker: one clear line, nothing lost, it drains once space is
back; a launch meanwhile gets a clear error and stores nothing."""

from __future__ import annotations

import errno
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import rota
from tests.acceptance.conftest import clean_env, rota_command
from tests.conftest import IN_CI
from tests.integration.procs import Marks, Procs, wait_started
from tests.integration.test_outage import BACK, DOWN, done_count, ended
from tests.support import Process

TOTAL = 300
CAUSE = "disk is full"


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A SQLite file alone on a 16 MB tmpfs mounted for the test (unmounted after it): room
    for the write-ahead log, which grows to about 4 MB (1000 pages) between checkpoints."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        reason = f"cannot mount a small tmpfs for a full disk: {mounted.stderr.strip()}"
        if IN_CI:
            pytest.fail(f"CI must run the full disk test: {reason}")
        pytest.skip(reason)
    try:
        yield f"sqlite:///{disk / 'rota.db'}"
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def fill(path: Path) -> int:
    """Write zeros to ``path`` until the disk is full; returns the bytes written."""
    written = 0
    chunk = b"\0" * 65536
    with path.open("wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    return written
                chunk = chunk[: len(chunk) // 2]  # the last few bytes too
                continue
            written += len(chunk)


def wal_checkpoint(path: str) -> None:
    """Empty the write-ahead log, so the worker's commits must take new space to grow it."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def cli_launch(app_file: Path) -> subprocess.CompletedProcess[str]:
    """``rota launch work`` on the app of ``app_file``."""
    argv = [*rota_command(), "--app", str(app_file), "launch", "work", "--arg", "n=-1"]
    return subprocess.run(argv, capture_output=True, text=True, env=clean_env(), timeout=60)


def while_full(app: rota.App, procs: Procs, worker: Process) -> dict[rota.RunState, int]:
    """The worker says why it waits, and a launch (Python, ``rota launch``) is refused with
    the cause, storing nothing; returns the runs by state meanwhile."""
    worker.wait_for(lambda: "worker" in DOWN.findall(worker.log()), 20, "the worker's outage line")
    assert CAUSE in worker.log()
    stuck = ended(app)
    assert stuck.get(rota.RunState.SUCCEEDED, 0) < TOTAL
    with pytest.raises(rota.StorageUnavailable, match=CAUSE):
        app.get_job("work").enqueue(n=-1)
    launched = cli_launch(procs.workdir / f"{worker.name}_app.py")
    assert launched.returncode != 0 and launched.stdout == "", launched
    assert "database unavailable: " in launched.stderr and CAUSE in launched.stderr
    assert "Traceback" not in launched.stderr
    assert sum(ended(app).values()) == TOTAL, "a launch on a full disk stored a run"
    assert worker.alive()
    return stuck


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_worker_on_a_full_disk_says_so_and_drains_once_space_is_back(
    app: rota.App, procs: Procs, marks: Marks, database_url: str
) -> None:
    disk = Path(database_url.removeprefix("sqlite:///")).parent
    work = app.get_job("work")
    ids = work.enqueue_many([{"n": i, "ms": 20} for i in range(TOTAL)])
    wal_checkpoint(str(disk / "rota.db"))
    worker = procs.spawn_node("worker", lease_seconds=60.0)  # riding it out, not rescuing
    wait_started(worker)
    worker.wait_for(lambda: done_count(marks) >= 20, 20, "20 runs done")

    filler = disk / "filler"
    fill(filler)
    try:
        stuck = while_full(app, procs, worker)
    finally:
        filler.unlink()
    freed = time.monotonic()

    worker.wait_for(
        lambda: ended(app).get(rota.RunState.SUCCEEDED) == TOTAL, 30, "every run to succeed"
    )
    drained_in = time.monotonic() - freed
    assert ended(app) == {rota.RunState.SUCCEEDED: TOTAL}
    log = worker.log()
    assert "Traceback" not in log
    assert "worker" in BACK.findall(log)
    assert Counter(DOWN.findall(log))["worker"] == 1, "one line per outage, not per retry"
    runs = app.runs.list(limit=1000)
    assert {r.id for r in runs} == set(ids)
    # the worker only waited: no lease expired, no run was rescued or ran twice
    assert all(r.attempt == 1 and r.errors == [] for r in runs)
    dones = Counter(r for k, r, _, _ in marks.effects() if k == "done")
    assert set(dones) == set(ids) and set(dones.values()) == {1}
    down = dict(Counter(DOWN.findall(log)))
    print(
        f"\nfull disk: runs by state while full {dict(stuck)}; all {TOTAL} succeeded "
        f"{drained_in:.1f}s after the filler was deleted; outage lines {down}"
    )
    worker.send(signal.SIGTERM)
    assert worker.wait_exit(20) == 0
