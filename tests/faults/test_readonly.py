"""A SQLite file the worker may not write: a clear error, and it drains once writable."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import rota
from rota.storage.sqlite.store import path_from_url
from tests.integration.procs import Marks, Procs, wait_started
from tests.integration.test_outage import BACK, DOWN, ended


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """The file may not be opened for writing while inside: mode 0444, or as root (whom
    modes do not stop) the immutable attribute."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("running as root, where file modes do not stop writes, and no chattr")
    if subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root, where file modes do not stop writes; chattr +i refused")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_worker_on_a_read_only_file_says_so_and_drains_once_writable(
    app: rota.App, procs: Procs, marks: Marks, database_url: str
) -> None:
    total = 50
    ids = app.get_job("work").enqueue_many([{"n": i} for i in range(total)])
    with read_only(Path(path_from_url(database_url))):
        worker = procs.spawn()
        wait_started(worker)
        worker.wait_for(
            lambda: "worker" in DOWN.findall(worker.log()), 10, "the worker's outage line"
        )
        assert " is read-only (check the file's and its folder's permissions)" in worker.log()
        assert ended(app) == {rota.RunState.QUEUED: total}
        assert marks.effects() == []

    worker.wait_for(
        lambda: ended(app).get(rota.RunState.SUCCEEDED) == total, 15, "every run to succeed"
    )
    assert ended(app) == {rota.RunState.SUCCEEDED: total}
    log = worker.log()
    assert "worker" in BACK.findall(log)
    assert Counter(DOWN.findall(log))["worker"] == 1, "one line per outage, not per retry"
    starts = Counter(r for k, r, _, _ in marks.effects() if k == "start")
    assert set(starts) == set(ids) and set(starts.values()) == {1}
    runs = app.runs.list(limit=1000)
    assert all(r.attempt == 1 and r.errors == [] for r in runs)
    worker.send(signal.SIGTERM)
    assert worker.wait_exit(20) == 0
