"""The Django app config: starts the rota services once per server process, stops them at exit.

Settings (all optional but ``APP``)::

    ROTA = {
        "APP": "myproject.jobs:app",   # where the rota.App is (MODULE[:ATTR], ATTR defaults to app)
        "START": True,                 # run the services inside the web server's processes
        "WORKER": True, "SCHEDULER": True, "MAINTENANCE": True,
        "QUEUES": None, "CONCURRENCY": None,
    }

With ``START`` on, the services start in ``ready()`` of a *server* process only: under
``manage.py runserver`` in the child the autoreloader runs (or the only process with
``--noreload``), and in any process that is not a management command (gunicorn or uvicorn
workers, mod_wsgi...). Other management commands (``migrate``, ``shell``, ``rota``...) never
start them. The environment variable ``ROTA_DJANGO_START`` (``1``/``0``) overrides the guess.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

import rota

log = logging.getLogger("rota.django")

SERVER_COMMANDS = ("runserver",)
_lock = threading.Lock()
_started: rota.App | None = None


def rota_settings() -> Mapping[str, Any]:
    value = getattr(settings, "ROTA", None) or {}
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured("settings.ROTA must be a dict")
    return value


def app_ref() -> str:
    """The ``MODULE[:ATTR]`` of the rota App, from ``settings.ROTA["APP"]``."""
    ref = rota_settings().get("APP")
    if not isinstance(ref, str) or not ref.strip():
        raise ImproperlyConfigured('settings.ROTA["APP"] must name the rota App, e.g. "jobs:app"')
    return ref.strip()


def get_app() -> rota.App:
    """The rota App named by ``settings.ROTA["APP"]`` (imported on first use)."""
    module_name, _, attr = app_ref().partition(":")
    module = importlib.import_module(module_name)
    app = getattr(module, attr or "app", None)
    if not isinstance(app, rota.App):
        raise ImproperlyConfigured(f"{app_ref()!r} is not a rota.App (settings.ROTA['APP'])")
    return app


def management_command(argv: Sequence[str]) -> str | None:
    """The management command this process runs (``None``: not ``manage.py``/``django-admin``)."""
    if not argv:
        return None
    program = os.path.basename(argv[0])
    python_m_django = program == "__main__.py" and os.path.basename(os.path.dirname(argv[0])) == (
        "django"
    )
    is_manage = program in ("manage.py", "django-admin", "django-admin.py") or python_m_django
    if not is_manage or len(argv) < 2:
        return None if not is_manage else ""
    return argv[1]


def should_start(argv: Sequence[str], environ: Mapping[str, str], enabled: bool) -> bool:
    """Whether this process is a server process that should run the rota services.

    ``enabled`` is ``settings.ROTA["START"]``; env ``ROTA_DJANGO_START`` overrides it all.
    """
    forced = environ.get("ROTA_DJANGO_START", "").strip().lower()
    if forced in ("1", "true", "yes", "on"):
        return True
    if forced in ("0", "false", "no", "off"):
        return False
    if not enabled:
        return False
    command = management_command(argv)
    if command is None:
        return True  # a WSGI/ASGI server (gunicorn, uvicorn, ...) imported the project
    if command not in SERVER_COMMANDS:
        return False
    # runserver with the autoreloader: the parent only watches files; the child serves.
    return environ.get("RUN_MAIN") == "true" or "--noreload" in argv


def _gunicorn_preload(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """gunicorn --preload loads the project in the master: start in the forked workers."""
    if "gunicorn" not in os.path.basename(argv[0] if argv else ""):
        return False
    return "--preload" in argv or "--preload" in environ.get("GUNICORN_CMD_ARGS", "")


def start_services() -> rota.App:
    """Start the services of the configured App in this process (once); stop them at exit."""
    global _started
    with _lock:
        if _started is not None:
            return _started
        app = get_app()
        options = rota_settings()
        queues = options.get("QUEUES")
        app.start(
            worker=bool(options.get("WORKER", True)),
            scheduler=bool(options.get("SCHEDULER", True)),
            maintenance=bool(options.get("MAINTENANCE", True)),
            queues=list(queues) if queues else None,
            concurrency=options.get("CONCURRENCY"),
        )
        _started = app
        atexit.register(stop_services)
        log.info("rota services started in process %d", os.getpid())
        return app


def stop_services() -> None:
    """Stop what ``start_services`` started (graceful: running runs get shutdown_timeout)."""
    global _started
    with _lock:
        app, _started = _started, None
    if app is not None:
        app.stop()
        log.info("rota services stopped in process %d", os.getpid())


class RotaConfig(AppConfig):
    name = "rota.integrations.django"
    label = "rota"
    verbose_name = "rota background jobs"

    def ready(self) -> None:
        if not rota_settings():
            return
        app_ref()  # a missing or empty APP fails at startup, not at first use
        if not should_start(sys.argv, os.environ, bool(rota_settings().get("START", False))):
            return
        if _gunicorn_preload(sys.argv, os.environ):
            os.register_at_fork(after_in_child=start_services)
            return
        start_services()
        if management_command(sys.argv) in SERVER_COMMANDS:
            _exit_on_sigterm()


def _exit_on_sigterm() -> None:
    """runserver dies on SIGTERM without running atexit: make it exit, so rota stops cleanly."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def on_sigterm(signum: int, _frame: object) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
