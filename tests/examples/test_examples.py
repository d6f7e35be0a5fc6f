"""Every example app runs as its docs say, on each backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_quickstart_runs_its_jobs(database_url: str, tmp_path: Path) -> None:
    env = dict(os.environ, ROTA_DATABASE_URL=database_url)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].endswith("'receipt for order 42 sent to customer@example.com'")
    assert lines[1].endswith(": 60")
    assert lines[2].endswith("'receipt for order 43 sent to customer@example.com'")


def test_import_rota_loads_no_driver_or_web_framework() -> None:
    code = (
        "import sys, rota\n"
        "app = rota.App(database='sqlite:///x.db')\n"
        "heavy = [m for m in ('psycopg', 'psycopg_pool', 'fastapi', 'starlette', 'uvicorn',"
        " 'flask') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_fastapi_example_enqueues_from_a_route(database_url: str) -> None:
    """The route's ``enqueue_async`` launches a run that ``drain`` works off (in-process ASGI)."""
    code = (
        "import asyncio, httpx, sys\n"
        f"sys.path.insert(0, {str(EXAMPLES)!r})\n"
        "from fastapi_app import app, web\n"
        "async def main():\n"
        "    t = httpx.ASGITransport(app=web)\n"
        "    async with httpx.AsyncClient(transport=t, base_url='http://x') as c:\n"
        "        r = await c.post('/orders/5/receipt')\n"
        "        assert r.status_code == 202, r.text\n"
        "        app.drain()\n"
        "        run = (await c.get(f\"/rota/api/runs/{r.json()['run_id']}\")).json()\n"
        "        print(run['state'], run['result'])\n"
        "asyncio.run(main())\n"
    )
    env = dict(os.environ, ROTA_DATABASE_URL=database_url)
    env.pop("ROTA_API_TOKEN", None)
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "succeeded receipt for order 5 sent"


def test_flask_example_enqueues_from_a_route(database_url: str) -> None:
    """Flask's test client posts to the route; the extension's embedded worker runs the job."""
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(EXAMPLES)!r})\n"
        "import rota\n"
        "from flask_app import app, web\n"
        "c = web.test_client()\n"
        "r = c.post('/orders/9/receipt')\n"
        "assert r.status_code == 202, r.data\n"
        "print(rota.RunHandle(app, r.get_json()['run_id']).result(timeout=30))\n"
    )
    env = dict(os.environ, ROTA_DATABASE_URL=database_url)
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "receipt for order 9 sent"


def test_batch_import_example_imports_once(database_url: str, tmp_path: Path) -> None:
    env = dict(os.environ, ROTA_DATABASE_URL=database_url)

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(EXAMPLES / "batch_import.py")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    first = run()
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "execution 1: completed",
        "  check: completed read=0 written=0 skipped=0 filtered=0 commits=1",
        "  load: completed read=1000 written=979 skipped=1 filtered=20 commits=10",
        "  report: completed read=0 written=0 skipped=0 filtered=0 commits=1",
    ]
    imported = (tmp_path / "orders.imported.jsonl").read_text().splitlines()
    assert len(imported) == 979
    again = run()
    assert again.returncode == 1
    assert "already completed" in again.stderr
    assert len((tmp_path / "orders.imported.jsonl").read_text().splitlines()) == 979


def test_batch_docs_first_example_runs_as_shown(tmp_path: Path) -> None:
    """docs/batch.md's opening example runs and prints what its comment says; the other
    python blocks at least compile (each runs in test_doc_fragments.py)."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "batch.md"
    blocks = [b.split("```")[0] for b in docs.read_text().split("```python\n")[1:]]
    for i, block in enumerate(blocks):
        compile(block, f"docs/batch.md block {i}", "exec")
    proc = subprocess.run(
        [sys.executable, "-c", blocks[0]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    promised = blocks[0].strip().splitlines()[-1].removeprefix("# ")
    assert proc.stdout.strip() == promised


def test_concepts_snooze_example_runs_as_shown(tmp_path: Path) -> None:
    """docs/concepts.md's snooze example prints what its last comment says."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "concepts.md"
    blocks = [b.split("```")[0] for b in docs.read_text().split("```python\n")[1:]]
    [block] = [b for b in blocks if "rota.Snooze" in b]
    proc = subprocess.run(
        [sys.executable, "-c", block],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    promised = block.strip().splitlines()[-1].removeprefix("# ")
    assert proc.stdout.strip() == promised


def test_dashboard_docs_mount_example_serves_and_logs_under_its_prefix(tmp_path: Path) -> None:
    """docs/dashboard.md's FastAPI example serves the dashboard under /rota, a button on it
    acts (CSRF secret and all), and the action logs the line the docs show."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "dashboard.md"
    blocks = [b.split("```")[0] for b in docs.read_text().split("```python\n")[1:]]
    assert len(blocks) == 1
    check = (
        "import logging, re\n"
        "from starlette.testclient import TestClient\n"
        "logging.basicConfig(level=logging.INFO, format='%(message)s')\n"
        "client = TestClient(web)\n"
        "run = send_receipt.configure(delay=60).enqueue(order_id=7)\n"
        "page = client.get(f'/rota/runs/{run.id}')\n"
        'secret = re.search(r\'name="csrf" value="([^"]+)"\', page.text)[1]\n'
        "done = client.post(f'/rota/runs/{run.id}/cancel', data={'csrf': secret},"
        " follow_redirects=False)\n"
        "print(page.status_code, 'href=\"/rota/schedules\"' in page.text, done.status_code,"
        " done.headers['location'], run.run().state.value)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTA_")}
    proc = subprocess.run(
        [sys.executable, "-c", blocks[0] + check],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["200", "True", "303", "/rota/runs/1?done=cancelled", "cancelled"]
    assert "action role=admin action=cancel_run target=run:1" in proc.stderr.splitlines()


def test_workflows_example_fails_then_is_repaired_by_a_retry(
    database_url: str, tmp_path: Path
) -> None:
    """examples/workflows.py: a region's fetch fails, the steps after it are cancelled, and a
    retry of the workflow fetches only that region again and ends it."""
    env = dict(os.environ, ROTA_DATABASE_URL=database_url)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "workflows.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "workflow 1 'sales report 2026-12-07': failed",
        "  emea: succeeded",
        "  amer: succeeded",
        "  apac: failed (ConnectionError: the apac feed is down)",
        "  total: cancelled (UpstreamFailed: upstream step 'apac' failed)",
        "  publish: cancelled (UpstreamFailed: upstream step 'apac' failed)",
        "workflow 1 'sales report 2026-12-07': succeeded",
        "  emea: succeeded",
        "  amer: succeeded",
        "  apac: succeeded",
        "  total: succeeded",
        "  publish: succeeded",
        "fetched again: ['apac']; sales on 2026-12-07: 480",
    ]


def test_workflows_docs_first_example_runs_as_shown(tmp_path: Path) -> None:
    """docs/workflows.md's opening example runs and prints what its comment says; the other
    python blocks at least compile (each runs in test_doc_fragments.py)."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "workflows.md"
    blocks = [b.split("```")[0] for b in docs.read_text().split("```python\n")[1:]]
    for i, block in enumerate(blocks):
        compile(block, f"docs/workflows.md block {i}", "exec")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTA_")}
    proc = subprocess.run(
        [sys.executable, "-c", blocks[0]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    promised = blocks[0].strip().splitlines()[-1].removeprefix("# ")
    assert proc.stdout.strip() == promised


def test_concepts_process_example_runs_as_shown(tmp_path: Path) -> None:
    """docs/concepts.md's process executor example, run as a script (its job in __main__)."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "concepts.md"
    blocks = [b.split("```")[0] for b in docs.read_text().split("```python\n")[1:]]
    [block] = [b for b in blocks if 'executor="process"' in b]
    script = tmp_path / "process_example.py"
    script.write_text(block)
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    promised = block.strip().splitlines()[-1].removeprefix("# ")
    assert proc.stdout.strip() == promised
