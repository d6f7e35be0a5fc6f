"""A batch job: import orders from a CSV file, restartable from its last committed chunk.

    python examples/batch_import.py                     # makes a sample CSV, imports it
    rota --app examples/batch_import.py launch import_orders --arg path=orders.csv --wait
    rota --app examples/batch_import.py batch list

The step reads the CSV in chunks of 100 rows; after each chunk the rows written and the
reader's and writer's positions are committed together. Kill the worker, or let a row fail,
and ``rota batch restart ID`` carries on after the last committed chunk: no row is read or
written twice. Rows that do not parse are skipped (up to 10) and counted.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import rota
from rota import batch

app = rota.App()


def check_input(ctx: batch.StepContext) -> str:
    """A tasklet: an empty file ends the flow early with the exit status ``EMPTY``."""
    path = Path(ctx.args["path"])
    if not path.exists():
        raise FileNotFoundError(f"no input file {path}")
    return "EMPTY" if path.stat().st_size == 0 else "COMPLETED"


def parse(row: dict[str, str]) -> dict[str, Any] | None:
    """The processor: a row to an order; ``None`` filters out cancelled orders."""
    if row["status"] == "cancelled":
        return None
    return {"id": int(row["id"]), "customer": row["customer"], "amount": float(row["amount"])}


def report(ctx: batch.StepContext) -> None:
    ctx.logger.info("import of %s finished", ctx.args["path"])


@app.batch
def import_orders(path: str) -> batch.Flow:
    """Its argument identifies the instance: a file imported once is not imported again."""
    return batch.Flow(
        [
            batch.tasklet("check", check_input, on={"EMPTY": "report"}),
            batch.chunk(
                "load",
                reader=batch.CsvReader(path),
                processor=parse,
                writer=batch.JsonLinesWriter(Path(path).with_suffix(".imported.jsonl")),
                size=100,
                skip_on=(ValueError,),  # e.g. an amount that is not a number
                skip_limit=10,
            ),
            batch.tasklet("report", report),
        ]
    )


def sample(path: Path, rows: int = 1000) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "customer", "amount", "status"])
        for i in range(rows):
            amount = "n/a" if i == 500 else f"{i * 1.5:.2f}"  # one bad row, skipped
            out.writerow([i, f"customer {i % 37}", amount, "cancelled" if i % 50 == 7 else "ok"])


if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "orders.csv")
    if not source.exists():
        sample(source)
    try:
        handle = import_orders.enqueue(path=str(source))
    except rota.BatchConflict as exc:  # imported already: a completed instance never reruns
        sys.exit(f"not imported again: {exc}")
    app.drain()
    execution = app.batches.for_run(handle.id)
    assert execution is not None
    print(f"execution {execution.id}: {execution.state.value}")
    for s in execution.steps:
        print(
            f"  {s.name}: {s.state.value} read={s.read} written={s.written} "
            f"skipped={s.skipped} filtered={s.filtered} commits={s.commits}"
        )
