"""Fault tests: one test per fault a node must survive, with real worker processes.

Each fault, and where its test lives (both backends unless marked):

- A worker killed (kill -9) mid-run: rescued by liveness within seconds (whatever the lease),
  or by lease for a process that is not a node; re-run elsewhere, nothing lost.
  ``tests/integration/test_liveness.py`` (the killed node leads maintenance; a slow node keeps
  its runs),
  ``tests/integration/test_crashes.py::test_worker_killed_mid_run_is_rescued_and_run_completes``,
  ``test_500_runs_two_workers_one_killed_nothing_lost``.
- A run that kills its worker every time: ends failed after max_attempts.
  ``tests/integration/test_crashes.py::test_run_that_kills_its_worker_every_time_ends_failed``.
- A worker frozen (SIGSTOP) past its lease, thawed after its run was rescued and re-run: its
  late result is refused, the rescuer's stays, and it goes on running other runs.
  ``tests/integration/test_crashes.py::test_frozen_worker_cannot_overwrite_the_rescued_runs_outcome``.
- Every connection killed (``pg_terminate_backend``, PostgreSQL) while a worker drains:
  ``tests/integration/test_outage.py::test_worker_rides_out_a_database_outage`` (postgres);
  with a scheduler firing as well: ``test_connections.py`` here.
- The PostgreSQL server restarted (``pg_ctlcluster ... restart``, once, a few seconds down)
  while a ``rota worker`` drains runs with a batch step in flight and a ``rota scheduler``
  fires every second: every run ends, none lost, each fire time handled once with no gap, each
  chunk committed once. ``test_pg_restart.py`` (PostgreSQL).
- The SQLite file locked by another process (``BEGIN EXCLUSIVE``): the worker logs the outage,
  loses nothing, drains after:
  ``tests/integration/test_outage.py::test_worker_rides_out_a_database_outage`` (sqlite);
  batch steps: ``tests/integration/test_batch_faults.py``; a node starting on a locked file:
  ``tests/acceptance/test_node_lifecycle.py``.
- A maintenance leader killed: one successor, its run rescued.
  ``tests/integration/test_leader.py``.
- One of two ``rota worker`` processes killed with SIGKILL every 20 s (3 kills, the leader and
  the other in turn) under a steady 500 runs/s, 30 s lease: each time, the runs it held are
  finished or back in the queue within 5 s (measured per kill), none lost, duplicates counted
  and each explained by a kill. ``test_repeated_kills.py``.
- Clock skew of +-5 s between nodes (real skew: libfaketime preloaded; PostgreSQL only, SQLite
  nodes share one machine's clock): a schedule fires once per fire time and never early, no
  run of a live skewed node is rescued, a killed skewed node's run is rescued within seconds.
  ``test_clock_skew.py``.
- An idle-in-transaction session holding a row lock on a queued run (PostgreSQL): the other
  runs are claimed meanwhile (SKIP LOCKED), the locked one after release. ``test_row_lock.py``.
- A read-only SQLite file: a clear error, the node recovers once writable.
  ``test_readonly.py`` (mode 0444; as root, whom modes do not stop, ``chattr +i``, skipped
  with the reason where that is unavailable).
- A full disk under a SQLite worker (its file alone on a small tmpfs, filled with zeros): one
  clear line naming the cause, nothing lost, a launch meanwhile refused with
  ``StorageUnavailable`` and nothing stored; every run succeeds once space is freed.
  ``test_full_disk.py`` (SQLite; skipped where mount is not permitted, failed in CI).
"""
