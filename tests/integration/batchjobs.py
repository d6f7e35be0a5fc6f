"""Batch jobs of the integration app (see jobapp.py), slow enough to be killed mid-step.

Every item written carries the pid that processed it, so a test can tell which worker
process wrote what, and check that each item was written exactly once.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import rota
from rota import batch


def append_lines(path: str | Path, items: list[dict[str, int]]) -> None:
    """One os.write per chunk on an O_APPEND descriptor: processes never interleave lines."""
    data = "".join(json.dumps(i) + "\n" for i in items).encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def add_batch_jobs(app: rota.App) -> None:
    def tag(i: int) -> dict[str, int]:
        time.sleep(0.02)
        return {"i": i, "pid": os.getpid()}

    @app.batch
    def slow_batch(count: int, out: str) -> batch.Flow:
        """Items 0..count-1, 20 ms each, in chunks of 5, to a restartable JSON Lines file."""
        return batch.Flow(
            [
                batch.chunk(
                    "load",
                    reader=batch.IterableReader(lambda: range(count)),
                    processor=tag,
                    writer=batch.JsonLinesWriter(out),
                    size=5,
                )
            ]
        )

    def part_reader(ctx: batch.StepContext) -> range:
        assert ctx.partition is not None
        return range(ctx.partition["partition"], ctx.args["count"], ctx.partition["partitions"])

    @app.batch
    def split_batch(count: int, out: str) -> batch.Flow:
        """Four partitions, each writing its items (with the pid) to a shared file."""
        return batch.Flow(
            [
                batch.chunk(
                    "load",
                    reader=part_reader,
                    processor=tag,
                    writer=lambda items: append_lines(out, items),
                    size=5,
                    partitions=4,
                )
            ]
        )
