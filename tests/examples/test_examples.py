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
        "heavy = [m for m in ('psycopg', 'psycopg_pool', 'fastapi', 'starlette', 'uvicorn')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
