"""The how-to guides' examples (examples/howto/*.py, included in docs/how-to/*.md) run on each
backend and print what their closing comment lines promise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HOWTO = Path(__file__).resolve().parents[2] / "examples" / "howto"
SCRIPTS = sorted(p.name for p in HOWTO.glob("*.py"))


def promised(script: Path) -> list[str]:
    """The comment lines after ``main()``'s call: what the script prints."""
    tail = script.read_text().rsplit("    main()\n", 1)[1]
    return [line.removeprefix("# ") for line in tail.splitlines() if line.startswith("# ")]


def test_every_howto_example_promises_its_output() -> None:
    assert len(SCRIPTS) >= 4
    for name in SCRIPTS:
        assert promised(HOWTO / name), name


@pytest.mark.parametrize("name", SCRIPTS)
def test_howto_example_prints_what_it_promises(
    name: str, database_url: str, tmp_path: Path
) -> None:
    env = dict(os.environ, ROTA_DATABASE_URL=database_url)
    proc = subprocess.run(
        [sys.executable, str(HOWTO / name)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == promised(HOWTO / name)
