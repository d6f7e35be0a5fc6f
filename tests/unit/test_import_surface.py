"""``import rota`` stays light, and ``app.asgi()`` still reaches the web layer (which App does
not import: rota/__init__.py installs it), each checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_import_rota_loads_no_web_framework_and_asgi_loads_it_when_asked() -> None:
    done = run_python(
        """
        import sys
        import rota
        heavy = {"fastapi", "starlette", "psycopg", "rota.web"}
        print(sorted(heavy & set(sys.modules)))
        asgi = rota.App(database="sqlite:///:memory:").asgi(token="t")
        print(callable(asgi), "rota.web" in sys.modules)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "True True"]


def test_asgi_without_the_web_extra_names_the_pip_install() -> None:
    done = run_python(
        """
        import sys
        sys.modules["fastapi"] = None  # as if rota[web] were not installed
        import rota
        try:
            rota.App(database="sqlite:///:memory:").asgi()
        except rota.ConfigError as exc:
            print(exc)
        """
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'rota[web]'" in done.stdout and "fastapi" in done.stdout
