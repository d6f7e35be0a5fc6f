"""The later python blocks of docs/workflows.md and docs/batch.md run, each as the page shows it.

They are fragments: they use jobs and names the page speaks of but does not define. Each test
defines those (the smallest jobs that fit), runs the block as it stands in the page, in that
namespace, against a real database, and checks what the page says it does. The opening
examples run as scripts in ``test_examples.py``.
"""

from __future__ import annotations

import csv
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import rota
from rota import batch

DOCS = Path(__file__).resolve().parents[2] / "docs"


def blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text()
    return [b.split("```")[0] for b in text.split("```python\n")[1:]]


def block(page: str, starts: str) -> str:
    """The python block of ``page`` whose first line starts with ``starts``."""
    [found] = [b for b in blocks(page) if b.lstrip().startswith(starts)]
    return found


def run(code: str, names: dict[str, Any]) -> dict[str, Any]:
    exec(compile(code, "<docs>", "exec"), names)
    return names


@pytest.fixture
def app(tmp_path: Path) -> rota.App:
    return rota.App(database=f"sqlite:///{tmp_path / 'docs.db'}")


def test_the_onboarding_workflow_and_its_summary(app: rota.App) -> None:
    @app.job
    def create_account(email: str) -> str:
        return f"account of {email}"

    @app.job
    def send_welcome() -> str:
        return "sent"

    @app.job
    def charge(amount: int) -> int:
        return amount

    names = run(block("workflows.md", "@app.job\ndef summarize"), {"app": app, "rota": rota})
    names.update(create_account=create_account, send_welcome=send_welcome, charge=charge)
    names = run(block("workflows.md", 'wf = rota.Workflow("onboard")'), names)
    app.drain()
    result = names["handle"].result(timeout=10)
    assert result["report"] == "welcome sent, invoice 5"
    assert names["handle"].state() is rota.WorkflowState.SUCCEEDED


def test_chain_and_group_pass_results_on(app: rota.App) -> None:
    @app.job
    def extract(day: str) -> list[int]:
        return [len(day), 1]

    @app.job
    def transform(up: rota.Upstream) -> int:
        return sum(*up.values())

    @app.job
    def load(up: rota.Upstream) -> str:
        return f"loaded {next(iter(up.values()))}"

    @app.job
    def fetch(url: str) -> str:
        return url.removeprefix("https://")

    @app.job
    def merge(up: rota.Upstream) -> list[str]:
        return sorted(up.values())

    names = {"app": app, "rota": rota, "extract": extract, "transform": transform}
    names.update(load=load, fetch=fetch, merge=merge)
    names = run(block("workflows.md", "etl = rota.chain("), names)
    etl, both = names["etl"].enqueue(), names["fetch_all"].enqueue()
    app.drain()
    assert etl.result(timeout=10)["load"] == "loaded 11"  # len("2026-12-07") + 1
    merged = both.result(timeout=10)
    assert merged["merge"] == ["a.example", "b.example"] and set(merged) == {
        "fetch",
        "fetch-2",
        "merge",
    }


def test_a_workflow_from_a_schedule(app: rota.App) -> None:
    @app.job
    def extract(day: str) -> str:
        return day

    @app.job
    def transform(up: rota.Upstream) -> str:
        return next(iter(up.values()))

    @app.job
    def load(up: rota.Upstream) -> str:
        return next(iter(up.values()))

    names = {"app": app, "rota": rota, "extract": extract, "transform": transform, "load": load}
    run(block("workflows.md", "@app.workflow\ndef nightly"), names)
    app.schedules.trigger("nightly-etl")
    app.drain()
    [record] = app.workflows.list()
    assert record.name.startswith("nightly ")
    day = record.name.removeprefix("nightly ")
    handle = app.workflows.get(record.id)
    assert handle.state() is rota.WorkflowState.SUCCEEDED
    assert handle.result(timeout=10)["load"] == day


def test_the_three_ways_to_repair_a_workflow(app: rota.App) -> None:
    fixed = {"now": False}

    @app.job
    def flaky() -> str:
        if not fixed["now"]:
            raise rota.Discard("the cause, not fixed yet")  # failed at once, every time
        return "ok"

    @app.job
    def after(up: rota.Upstream) -> str:
        return up["flaky"]

    wf = rota.Workflow("repair")
    wf.add("flaky", flaky)
    wf.add("after", after, after=["flaky"])
    handle = wf.enqueue()
    app.drain()
    assert handle.state() is rota.WorkflowState.FAILED
    step = next(s for s in handle.workflow().steps if s.name == "flaky")
    names = {"app": app, "handle": handle, "run_id": step.run_id}
    lines = block("workflows.md", "handle.retry()").strip().splitlines()
    assert len(lines) == 3
    for line in lines:  # each way puts the failed step back; it fails again until fixed
        run(line, names)
        assert app.runs.get(step.run_id).state is rota.RunState.QUEUED, line
        app.drain()
    fixed["now"] = True
    run(lines[0], names)
    app.drain()
    assert handle.result(timeout=10) == {"flaky": "ok", "after": "ok"}


def test_a_workflow_inside_the_callers_transaction() -> None:
    # the page's block uses psycopg: PostgreSQL only (skipped without a server, but not in CI)
    from tests.conftest import PG_URL, require_postgres, reset_postgres

    require_postgres()
    reset_postgres()
    import psycopg

    database_url = PG_URL
    app = rota.App(database=database_url)

    @app.job
    def welcome(email: str) -> str:
        return f"hello {email}"

    def onboarding(email: str) -> rota.Workflow:
        wf = rota.Workflow("onboarding")
        wf.add("welcome", welcome, {"email": email})
        return wf

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS customers")
        conn.execute("CREATE TABLE customers (email text)")
    try:
        names = {"psycopg": psycopg, "DATABASE_URL": database_url, "onboarding": onboarding}
        run(block("workflows.md", "with psycopg.connect(DATABASE_URL)"), names)
        [record] = app.workflows.list()
        app.drain()
        assert app.workflows.get(record.id).result(timeout=10) == {"welcome": "hello a@b.c"}
        with psycopg.connect(database_url) as conn:
            assert conn.execute("SELECT email FROM customers").fetchall() == [("a@b.c",)]
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS customers")
        app.close()


def test_a_nightly_batch_instance_per_fire_time(app: rota.App) -> None:
    seen: list[tuple[str, str]] = []

    @app.batch
    def import_orders(path: str, day: str) -> batch.Flow:
        return batch.Flow([batch.tasklet("note", lambda ctx: seen.append((path, day)))])

    run(block("batch.md", "app.add_schedule("), {"app": app, "import_orders": import_orders})
    app.schedules.trigger("nightly-import")
    app.drain()
    [(path, day)] = seen
    assert path == "/data/orders.csv"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT.*", day), day


def test_a_chunk_step_from_csv_to_a_table(
    app: rota.App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open("orders.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "amount"])
        out.writerows([i, f"{i}.50"] for i in range(1, 2501))
    app.store.migrate()
    with sqlite3.connect(tmp_path / "docs.db") as db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL)")
    names = run(block("batch.md", "from rota import batch\n\nstep = batch.chunk("), {})

    @app.batch
    def load_orders() -> batch.Flow:
        return batch.Flow([names["step"]])

    load_orders.enqueue()
    app.drain()
    with sqlite3.connect(tmp_path / "docs.db") as db:
        count, total = db.execute("SELECT count(*), sum(amount) FROM orders").fetchone()
    assert (count, total) == (2500, sum(i + 0.5 for i in range(1, 2501)))
    [execution] = app.batches.list()
    [load] = execution.steps
    assert (load.read, load.written, load.commits) == (2500, 2500, 3)
