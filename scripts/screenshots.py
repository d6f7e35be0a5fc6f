"""Screenshots of the dashboard for the docs, taken from a real server in a real browser.

    .venv/bin/python scripts/screenshots.py [--out docs/images] [--token TOKEN | --no-token]

First it fills a new SQLite database in a temporary folder with an hour of past work (runs
done minute by minute by an app whose clock runs behind, so the overview's chart has data).
Then it serves the quickstart example's app as the README's first command does (``rota --app
... run``: worker, scheduler, API and dashboard) with a second node (``rota worker``), both on
the queues ``default`` and ``payments``, and a few additions: a card charge that fails (a failed
run with a traceback per attempt), a job retrying, a ``reports`` queue no node works (a
backlog), two more schedules (one paused), the batch import example's flow (a completed
execution, and one failed half-way then restarted) and an order's checkout as a workflow (one
succeeded, one whose card charge failed). It puts runs in each state, logs in with the token,
and saves every page at 1280 and 390 pixels wide, whole down to TALLEST pixels, as
``<out>/<name>-desktop.png`` and ``<out>/<name>-phone.png``, with Playwright driving Debian's
Chromium (/usr/bin/chromium). A page that does not answer 200 gets no picture, and the script
says so. ``--only workflows,workflow`` takes only the pictures of those names.

This file is also the app that server serves (``rota --app scripts/screenshots.py run``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import os
import secrets
import signal
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "examples"), str(ROOT)]

# The imports below come from the folders put on the path just above.
import batch_import  # noqa: E402
from quickstart import app, fetch_total, send_receipt  # noqa: E402
from tests.support import Process, free_port, spawn, wait_until  # noqa: E402

import rota  # noqa: E402
from rota import RunFailed, batch  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
TALLEST = {"desktop": 1500, "phone": 2400}
"""A picture shows the whole page down to this many pixels (a long list is cut there)."""
WAIT_SECONDS = 60
SERVED = ("default", "payments")
"""The queues the nodes work; ``reports`` has no worker, so its runs wait (a backlog)."""
HISTORY_MINUTES = 55


class CardDeclined(Exception):
    """What the pretend payment gateway raises for a card it refuses."""


def gateway_charge(order_id: int, amount: float, attempt: int) -> str:
    """A pretend payment gateway: every third order times out once, every eleventh is refused."""
    if order_id % 11 == 0:
        raise CardDeclined(f"card declined for order {order_id} ({amount:.2f} EUR): do not honor")
    if order_id % 3 == 0 and attempt == 1:
        raise TimeoutError("payment gateway did not answer within 10 s")
    return f"ch_{order_id:06d}"


@app.job(queue="payments")
def charge_card(order_id: int, amount: float, ctx: rota.Context) -> str:
    """Charges an order's card: retried on a timeout, failed for good when declined."""
    return gateway_charge(order_id, amount, ctx.attempt)


@app.job(max_attempts=5, backoff=rota.Backoff(base=300))
def sync_inventory(warehouse: str) -> None:
    """Cannot reach its warehouse: a run retrying, five minutes after its first attempt."""
    raise ConnectionError(f"warehouse {warehouse!r} refused the connection")


@app.job
async def export_orders(count: int, ctx: rota.Context) -> int:
    """Writes ``count`` orders out, 100 a second, saying how far it got: a long run."""
    for done in range(1, count + 1):
        await asyncio.sleep(0.01)
        if done % 50 == 0 or done == count:
            ctx.progress(done, count, f"order {done}")
    return count


@app.job(queue="reports")
def build_report(day: str) -> str:
    """Waits in the ``reports`` queue, which no node of the pictures works."""
    return f"report for {day}"


@app.periodic(cron="0 2 * * *", queue="reports")
def nightly_report() -> str:
    """A cron schedule: every night at 02:00 UTC."""
    return "queued the nightly report"


@app.periodic(every=300)
def reconcile_payments() -> str:
    """An interval schedule, paused for the pictures."""
    return "reconciled"


@app.job
def reserve_stock(order_id: int) -> str:
    """Sets an order's items aside: a step of the checkout workflow."""
    return f"stock reserved for order {order_id}"


def checkout(order_id: int, amount: float) -> rota.Workflow:
    """An order's checkout: its total, then its card charge and its stock reserved side by
    side, then the receipt once both are done."""
    wf = rota.Workflow(f"checkout order {order_id}")
    wf.add("total", fetch_total, {"order_ids": [order_id]})
    wf.add("charge", charge_card, {"order_id": order_id, "amount": amount}, after=["total"])
    wf.add("stock", reserve_stock, {"order_id": order_id}, after=["total"])
    wf.add("receipt", send_receipt, {"order_id": order_id}, after=["charge", "stock"])
    return wf


@app.batch
def import_orders(path: str) -> batch.Flow:
    """The batch import example's flow (examples/batch_import.py), served by this app."""
    flow: batch.Flow = batch_import.import_orders(path=path)
    return flow


class Behind:
    """A clock set to a past moment, from which it runs on: what an app with it does looks
    done back then."""

    def __init__(self) -> None:
        self.set(datetime.now(UTC))

    def set(self, moment: datetime) -> None:
        self.moment, self.since = moment, time.monotonic()

    def now(self) -> datetime:
        return self.moment + timedelta(seconds=time.monotonic() - self.since)


def fill_history(database: str) -> None:
    """The last hour's work, minute by minute, before any node starts: a few receipts, totals
    and card charges a minute (some retried, some declined), and a backlog of reports."""
    clock = Behind()
    this_minute = datetime.now(UTC).replace(second=0, microsecond=0)
    past = rota.App(database, clock=clock)
    for spec in app.jobs.values():
        past.register(spec)
    receipts, totals, cards = (
        past.get_job(n) for n in ("send_receipt", "fetch_total", "charge_card")
    )
    for minute in range(HISTORY_MINUTES, 0, -1):
        clock.set(this_minute - timedelta(minutes=minute, seconds=-20))
        busy = 3 + (minute * 7) % 5 + (6 if 20 <= minute < 28 else 0)
        first = 1000 + minute * 20
        receipts.enqueue_many([{"order_id": first + i} for i in range(busy)])
        cards.enqueue_many(
            [{"order_id": first + i, "amount": 12.5 + i * 7} for i in range(minute % 4 + 1)]
        )
        if minute % 5 == 0:
            totals.enqueue(order_ids=list(range(first, first + 8)))
        if minute in (14, 13, 9):
            past.get_job("build_report").enqueue_many([{"day": f"2026-12-0{d}"} for d in (1, 2)])
        past.drain(queues=SERVED)
    past.close()


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_nodes(folder: Path, database: str, token: str | None) -> tuple[list[Process], str]:
    """``rota --app <this file> run`` on a free port of 127.0.0.1 and a second node, a plain
    ``rota worker``: both processes, and the URL of the first."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTA_")}
    env["ROTA_DATABASE_URL"] = database
    if token:
        env["ROTA_API_TOKEN"] = token
    rota_cli = [str(Path(sys.executable).parent / "rota"), "--app", str(Path(__file__).resolve())]
    queues = ["--queues", ",".join(SERVED), "--shutdown-timeout", "1"]
    nodes = []
    for name, command in (("server", ["run", "--port", str(port)]), ("worker", ["worker"])):
        log = folder / f"{name}.log"
        popen = spawn([*rota_cli, *command, *queues], log, cwd=folder, env=env)
        nodes.append(Process(f"the {name}", popen, log))
    url = f"http://127.0.0.1:{port}"
    nodes[0].wait_for(lambda: answers(url), WAIT_SECONDS, "the server to answer")
    return nodes, url


def put_runs_in_states(folder: Path) -> dict[str, int]:
    """Runs succeeded, failed (three attempts, each with its traceback), retrying, running
    (with progress), scheduled and cancelled; a schedule and a queue paused, a queue with
    limits; batch executions completed,
    failed half-way and restarted. The ids of the pages that show one record."""
    send_receipt.enqueue(order_id=42).result(timeout=WAIT_SECONDS)
    declined = charge_card.enqueue(order_id=77, amount=129.9)
    paid = checkout(1004, 59.0).enqueue()
    refused = checkout(1012, 240.0).enqueue()  # the card is declined: the receipt is cancelled
    with contextlib.suppress(RunFailed):
        declined.result(timeout=WAIT_SECONDS)
    paid.result(timeout=WAIT_SECONDS)
    with contextlib.suppress(RunFailed):
        refused.result(timeout=WAIT_SECONDS)
    sync_inventory.enqueue(warehouse="berlin-2")
    send_receipt.configure(delay=3600).enqueue(order_id=43)  # scheduled for in an hour
    app.runs.cancel(send_receipt.configure(delay=600).enqueue(order_id=44).id)
    long = export_orders.enqueue(count=30_000)  # about five minutes
    wait_until(lambda: long.run().progress, WAIT_SECONDS, "the long run to report progress")
    ids = {"run": declined.id, "running": long.id, "workflow": paid.id}
    ids |= {"workflow-failed": refused.id} | import_batches(folder)
    wait_until(lambda: app.schedules.list(), WAIT_SECONDS, "the schedules to be stored")
    app.schedules.pause("reconcile_payments")
    app.queues.pause("reports")  # its backlog waits on purpose
    app.queues.set("payments", concurrency=2, rate_limit=(10, 60))
    wait_until(lambda: app.schedules.fires("heartbeat", 1), WAIT_SECONDS, "the heartbeat to fire")
    return ids


def import_batches(folder: Path) -> dict[str, int]:
    """A completed import; one that fails in its 7th chunk (too many rows without an amount),
    then, its file mended, restarted: the restart carries on after the 6 chunks committed."""
    good, december = folder / "orders.csv", folder / "orders-december.csv"
    batch_import.sample(good)
    done = import_orders.enqueue(path=str(good))
    done.result(timeout=WAIT_SECONDS)
    batch_import.sample(december)
    rows = list(csv.reader(december.open(newline="")))
    for row in rows[621:642]:  # rows 620 to 640: more than the 10 the step may skip
        row[2] = ""
    with december.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    broken = import_orders.enqueue(path=str(december))
    with contextlib.suppress(RunFailed):
        broken.result(timeout=WAIT_SECONDS)
    failed = wait_until(lambda: app.batches.for_run(broken.id), WAIT_SECONDS, "the failure")
    batch_import.sample(december)
    restart = app.batches.restart(failed.id)
    wait_until(
        lambda: app.batches.get(restart.id).current_state.value == "completed",
        WAIT_SECONDS,
        "the restart to complete",
    )
    completed = wait_until(lambda: app.batches.for_run(done.id), WAIT_SECONDS, "the import")
    return {"execution": completed.id, "failed-execution": failed.id}


def pages(ids: dict[str, int]) -> list[tuple[str, str]]:
    """The dashboard's pages: (name of the picture, path)."""
    return [
        ("overview", "/"),
        ("runs", "/runs"),
        ("runs-failed", "/runs?state=failed"),
        ("run", f"/runs/{ids['run']}"),
        ("run-running", f"/runs/{ids['running']}"),
        ("schedules", "/schedules"),
        ("batch", "/batch"),
        ("batch-execution", f"/batch/{ids['execution']}"),
        ("batch-execution-failed", f"/batch/{ids['failed-execution']}"),
        ("queues", "/queues"),
        ("workflows", "/workflows"),
        ("workflow", f"/workflows/{ids['workflow']}"),
        ("workflow-failed", f"/workflows/{ids['workflow-failed']}"),
        ("nodes", "/nodes"),
    ]


def log_in(page: Any, url: str, token: str) -> None:
    page.goto(f"{url}/login?next=/")
    page.get_by_label("Token").fill(token)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def settle(page: Any) -> None:
    """Wait until the page has loaded what it asks for; a page that keeps a live connection
    open never goes quiet, so after a few seconds it is taken as it is."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_load_state("networkidle", timeout=5000)


def snap(page: Any, size: str, path: Path) -> None:
    """The page as a PNG, as tall as its content down to ``TALLEST[size]`` pixels (the
    window is made that tall for the picture)."""
    width, height = VIEWPORTS[size]["width"], VIEWPORTS[size]["height"]
    tall = int(page.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)"))
    page.set_viewport_size({"width": width, "height": min(TALLEST[size], tall)})
    page.screenshot(path=path)
    page.set_viewport_size({"width": width, "height": height})
    print(f"screenshots: {path}")


def shoot(
    browser: Any, url: str, token: str | None, ids: dict[str, int], out: Path, only: set[str]
) -> list[str]:
    """Every page (or those named in ``only``) at each size into ``out``; the pages left out,
    with their status."""
    missing: list[str] = []
    for size, viewport in VIEWPORTS.items():
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        if token:
            page.goto(f"{url}/login")
            if not only or "login" in only:
                snap(page, size, out / f"login-{size}.png")
            log_in(page, url, token)
        for name, path in pages(ids):
            if only and name not in only:
                continue
            response = page.goto(url + path)
            status = response.status if response is not None else 0
            if status != 200:
                missing.append(f"{path} at {size} width: HTTP {status}")
                continue
            settle(page)
            snap(page, size, out / f"{name}-{size}.png")
        context.close()
    return missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--token", default=secrets.token_urlsafe(16), help="default: a new one")
    parser.add_argument("--no-token", action="store_true", help="serve without a token")
    parser.add_argument("--only", default="", help="names of the pictures to take: a,b,...")
    options = parser.parse_args()
    token = None if options.no_token else options.token
    from playwright.sync_api import sync_playwright

    options.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rota-screenshots-") as tmp:
        folder = Path(tmp)
        database = f"sqlite:///{folder / 'rota.db'}"
        fill_history(database)
        nodes, url = start_nodes(folder, database, token)
        try:
            app.use_database(database)
            ids = put_runs_in_states(folder)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
                only = {n for n in options.only.split(",") if n}
                missing = shoot(browser, url, token, ids, options.out, only)
                browser.close()
        finally:
            app.close()
            for node in nodes:
                node.stop(signal.SIGTERM, 60)
    for line in missing:
        print(f"screenshots: no picture of {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
