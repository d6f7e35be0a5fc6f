"""The batch app the CLI and REST tests drive, loaded by the ``rota`` command from this file.

The environment steers it: ``BATCH_ITEMS`` (how many items the reader yields, default 30),
``BATCH_FAIL_AT`` (the item the processor fails on). Each item written is appended as one line
to ``<tag>.out`` in the working directory, so a test can count what was written and how often.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import partial

import rota
from rota import batch

app = rota.App(name="batchtest", poll_interval=0.05, lease_seconds=5, shutdown_timeout=5)


def read(ctx: batch.StepContext) -> Iterable[int]:
    count = int(os.environ.get("BATCH_ITEMS", "30"))
    part = ctx.partition
    if part is None:
        return range(count)
    return range(part["partition"], count, part["partitions"])


def process(item: int) -> int:
    if item == int(os.environ.get("BATCH_FAIL_AT", "-1")):
        raise ValueError(f"bad {item}")
    return item


def write(path: str, items: list[int]) -> None:
    with open(path, "a", encoding="utf-8") as out:
        out.writelines(f"{i}\n" for i in items)


@app.batch
def numbers(tag: str) -> batch.Flow:
    """Reads BATCH_ITEMS numbers in chunks of 10 and appends them to <tag>.out."""
    return batch.Flow(
        [
            batch.chunk(
                "load", reader=read, processor=process, writer=partial(write, f"{tag}.out"), size=10
            )
        ]
    )


@app.batch
def spread(tag: str) -> batch.Flow:
    """A tasklet, then the numbers in two partitions."""
    return batch.Flow(
        [
            batch.tasklet("prepare", lambda ctx: None),
            batch.chunk(
                "load",
                reader=read,
                processor=process,
                writer=partial(write, f"{tag}.out"),
                size=10,
                partitions=2,
            ),
        ]
    )
