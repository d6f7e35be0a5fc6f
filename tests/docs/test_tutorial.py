"""The tutorial followed from scratch, as a new user would: examples/tutorial/tutorial.sh (whose
sections are the tutorial's code blocks) runs in an empty directory holding only tasks.py,
makes a fresh virtual environment, pip installs rota (a wheel of this checkout, found through
PIP_FIND_LINKS, its dependencies from the package index), and drives two nodes on PostgreSQL.

Slow (a fresh install, a rescue after a 10 s lease): one to two minutes. Needs PostgreSQL."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL, require_postgres, reset_postgres

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "examples" / "tutorial"
TUTORIAL_URL = "postgresql://postgres@127.0.0.1:5432/rota_tutorial"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(600)
def test_the_tutorial_runs_from_scratch(tmp_path: Path) -> None:
    require_postgres()
    reset_postgres()
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        check=True,
        timeout=300,
    )
    script = (TUTORIAL / "tutorial.sh").read_text()
    assert TUTORIAL_URL in script and "8080" in script
    port = str(free_port())
    script = script.replace(TUTORIAL_URL, PG_URL).replace("8080", port)
    work = tmp_path / "photos"
    work.mkdir()
    shutil.copy(TUTORIAL / "tasks.py", work / "tasks.py")
    (work / "tutorial.sh").write_text(script)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROTA_", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(ROOT))
    )
    env["PIP_FIND_LINKS"] = " ".join(filter(None, [env.get("PIP_FIND_LINKS"), str(wheels)]))
    proc = subprocess.run(
        ["bash", "tutorial.sh"], cwd=work, env=env, capture_output=True, text=True, timeout=540
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert re.search(r"^\['\d+', '\d+'\]$", out, re.M), out  # thumbnails made by both nodes
    assert "WorkerLost" in out
    assert re.search(r"tutorial: done, run \d+ succeeded$", out.strip()), out[-2000:]
