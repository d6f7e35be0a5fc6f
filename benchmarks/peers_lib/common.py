"""What every peer shares: the timing of each workload, the start stamps, the worker processes.

A peer module defines ``Peer`` with ``setup()``, ``enqueue_each(n)``, ``enqueue_bulk(n)``
(False when the library has no bulk enqueue: the runs are then enqueued one by one, untimed),
``remaining()`` (runs not yet finished), ``worker_commands()`` (the processes of one worker of
concurrency 2), ``enqueue_stamp()`` (one run of the task that pushes its start time to
Redis) and ``close()``. Run as ``python -m peers_lib.common SYSTEM RUNS EACH LATENCY``, it
prints the peer's figures as one JSON line.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import redis

REDIS_URL = "redis://127.0.0.1:6379/11"
"""The Redis database the peers use (emptied at each setup): the one Redis may be shared."""
STARTS = "peers:starts"
HERE = os.path.dirname(os.path.abspath(__file__))


def stamp() -> None:
    """The body of every peer's ``stamp`` task: its start time, for the latency workload."""
    redis.Redis.from_url(REDIS_URL).rpush(STARTS, repr(time.time()))


def worker_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.path.dirname(HERE)}


class Workers:
    def __init__(self, commands: list[list[str]]) -> None:
        self.procs = [
            subprocess.Popen(
                c, env=worker_env(), cwd=HERE, stdout=subprocess.DEVNULL, start_new_session=True
            )
            for c in commands
        ]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def timed(work: Any, count: int) -> float:
    start = time.perf_counter()
    work(count)
    return count / (time.perf_counter() - start)


def drain(peer: Any, runs: int) -> float:
    """Runs per second from the first finished run to the last, both seen by polling (a
    count every 50 ms: within 1 % of a drain of 5 s or more)."""
    workers = Workers(peer.worker_commands())
    try:
        deadline = time.monotonic() + 120 + runs / 10  # at least 10 runs/s
        while (left := peer.remaining()) >= runs:  # the worker is starting
            _check(workers, deadline)
            time.sleep(0.01)
        first, done_first = time.perf_counter(), runs - left
        while peer.remaining() > 0:  # as often as rota bench looks at its queue
            _check(workers, deadline)
            time.sleep(0.05)
        return (runs - done_first) / (time.perf_counter() - first)
    finally:
        workers.stop()


def _check(workers: Workers, deadline: float) -> None:
    for proc in workers.procs:
        if proc.poll() is not None:
            raise RuntimeError(f"a worker exited with {proc.returncode}")
    if time.monotonic() > deadline:
        raise TimeoutError("not drained in time (under 10 runs/s)")


def latency(peer: Any, count: int) -> list[float]:
    """Milliseconds from just before the enqueue call to the task's own start stamp."""
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(STARTS)
    workers = Workers(peer.worker_commands())
    try:
        peer.enqueue_stamp()
        if client.blpop([STARTS], timeout=60) is None:
            raise TimeoutError("the worker took no run within 60 s")
        found = []
        for _ in range(count):
            sent = time.time()
            peer.enqueue_stamp()
            got = client.blpop([STARTS], timeout=30)
            if got is None:
                raise TimeoutError("a stamp run did not start within 30 s")
            found.append((float(got[1]) - sent) * 1000)
            time.sleep(0.01)
        return found
    finally:
        workers.stop()


def measure(system: str, runs: int, each: int, latency_runs: int) -> dict[str, Any]:
    module = importlib.import_module(f"peers_lib.{system}_peer")
    peer = module.Peer()
    redis.Redis.from_url(REDIS_URL).flushdb()
    try:
        peer.setup()
        figures: dict[str, Any] = {"enqueue": timed(peer.enqueue_each, each)}
        peer.setup()
        start = time.perf_counter()
        bulk = peer.enqueue_bulk(runs)
        if not bulk:
            peer.enqueue_each(runs)
        figures["bulk"] = runs / (time.perf_counter() - start) if bulk else None
        figures["drain"] = drain(peer, runs)
        peer.setup()
        samples = sorted(latency(peer, latency_runs))
        figures["latency_p50"] = samples[len(samples) // 2]
        figures["latency_p99"] = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
        return figures
    finally:
        peer.close()


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(HERE))
    name, n, each, lat = sys.argv[1], *map(int, sys.argv[2:5])
    print(json.dumps(measure(name, n, each, lat)))


def fresh_postgres(url: str) -> None:
    """Drop and create the database ``url`` names (on the same server, as user postgres)."""
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
