"""Screenshots of the dashboard for the docs, taken from a real server in a real browser.

    .venv/bin/python scripts/screenshots.py [--out docs/images] [--token TOKEN | --no-token]

Serves the quickstart example's app as the README's first command does (``rota --app ...
run``: worker, scheduler, API and dashboard) on a new SQLite database in a temporary folder,
with two additions: a job that always fails (a failed run with its traceback) and the batch
import example's flow (a completed and a failed execution). It puts runs in each state, logs
in with the token, and saves every page at 1280x800 and 390x844 as ``<out>/<name>-desktop.png``
and ``<out>/<name>-phone.png``, with Playwright driving Debian's Chromium (/usr/bin/chromium).
A page that does not answer 200 gets no picture, and the script says so.

This file is also the app that server serves (``rota --app scripts/screenshots.py run``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "examples"), str(ROOT)]

# The imports below come from the folders put on the path just above.
import batch_import  # noqa: E402
from quickstart import app, fetch_total, send_receipt  # noqa: E402
from tests.support import Process, free_port, spawn, wait_until  # noqa: E402

from rota import RunFailed, batch  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
WAIT_SECONDS = 60


@app.job(queue="payments", max_attempts=1)
def charge_card(order_id: int, amount: float) -> None:
    """Declines every card: a failed run, with its traceback, for the pictures."""
    raise RuntimeError(f"card declined for order {order_id} ({amount:.2f} EUR)")


@app.batch
def import_orders(path: str) -> batch.Flow:
    """The batch import example's flow (examples/batch_import.py), served by this app."""
    flow: batch.Flow = batch_import.import_orders(path=path)
    return flow


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_server(folder: Path, database: str, token: str | None) -> tuple[Process, str]:
    """``rota --app <this file> run`` on a free port of 127.0.0.1; its process and URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTA_")}
    env["ROTA_DATABASE_URL"] = database
    if token:
        env["ROTA_API_TOKEN"] = token
    rota = Path(sys.executable).parent / "rota"
    argv = [str(rota), "--app", str(Path(__file__).resolve()), "run", "--port", str(port)]
    log = folder / "server.log"
    popen = spawn([*argv, "--shutdown-timeout", "1"], log, cwd=folder, env=env)
    server, url = Process("the server", popen, log), f"http://127.0.0.1:{port}"
    server.wait_for(lambda: answers(url), WAIT_SECONDS, "the server to answer")
    return server, url


def put_runs_in_states(folder: Path) -> dict[str, int]:
    """Runs succeeded, failed (with a traceback), running (with progress) and scheduled, and
    a completed and a failed batch execution. The ids of the pages that show one record."""
    send_receipt.enqueue(order_id=42).result(timeout=WAIT_SECONDS)
    fetch_total.enqueue(order_ids=[1, 2, 3]).result(timeout=WAIT_SECONDS)
    failed = charge_card.enqueue(order_id=7, amount=129.9)
    with contextlib.suppress(RunFailed):
        failed.result(timeout=WAIT_SECONDS)
    send_receipt.configure(delay=3600).enqueue(order_id=43)  # scheduled for in an hour
    long = fetch_total.enqueue(order_ids=list(range(1, 30_001)))  # about five minutes
    wait_until(lambda: long.run().progress, WAIT_SECONDS, "the long run to report progress")
    csv = folder / "orders.csv"
    batch_import.sample(csv)
    imported = import_orders.enqueue(path=str(csv))
    imported.result(timeout=WAIT_SECONDS)
    with contextlib.suppress(RunFailed):
        import_orders.enqueue(path=str(folder / "missing.csv")).result(timeout=WAIT_SECONDS)
    execution = wait_until(
        lambda: app.batches.for_run(imported.id), WAIT_SECONDS, "the batch execution"
    )
    return {"run": failed.id, "execution": execution.id}


def pages(ids: dict[str, int]) -> list[tuple[str, str]]:
    """The dashboard's pages: (name of the picture, path)."""
    return [
        ("overview", "/"),
        ("runs", "/runs"),
        ("run", f"/runs/{ids['run']}"),
        ("schedules", "/schedules"),
        ("batch", "/batch"),
        ("batch-execution", f"/batch/{ids['execution']}"),
        ("queues", "/queues"),
        ("workflows", "/workflows"),
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


def shoot(browser: Any, url: str, token: str | None, ids: dict[str, int], out: Path) -> list[str]:
    """Every page at each size into ``out``; the pages left out, with their status."""
    missing: list[str] = []
    for size, viewport in VIEWPORTS.items():
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        if token:
            page.goto(f"{url}/login")
            page.screenshot(path=out / f"login-{size}.png")
            log_in(page, url, token)
        for name, path in pages(ids):
            response = page.goto(url + path)
            status = response.status if response is not None else 0
            if status != 200:
                missing.append(f"{path} at {size} width: HTTP {status}")
                continue
            settle(page)
            page.screenshot(path=out / f"{name}-{size}.png")
            print(f"screenshots: {out / f'{name}-{size}.png'}")
        context.close()
    return missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--token", default=secrets.token_urlsafe(16), help="default: a new one")
    parser.add_argument("--no-token", action="store_true", help="serve without a token")
    options = parser.parse_args()
    token = None if options.no_token else options.token
    from playwright.sync_api import sync_playwright

    options.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rota-screenshots-") as tmp:
        folder = Path(tmp)
        database = f"sqlite:///{folder / 'rota.db'}"
        server, url = start_server(folder, database, token)
        try:
            app.use_database(database)
            ids = put_runs_in_states(folder)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
                missing = shoot(browser, url, token, ids, options.out)
                browser.close()
        finally:
            app.close()
            server.stop(signal.SIGTERM, 60)
    for line in missing:
        print(f"screenshots: no picture of {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
