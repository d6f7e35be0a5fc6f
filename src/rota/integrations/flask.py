"""rota inside a Flask application: the ``Rota`` extension object.

::

    app = rota.App()
    web = Flask(__name__)
    Rota(app, web)                      # or: ext = Rota(app); ext.init_app(web)

``init_app`` puts the rota App on ``flask_app.extensions["rota"]`` and starts rota's services
(worker, scheduler, maintenance) in background threads, once per process, and stops them at
interpreter exit. The Werkzeug reloader's parent process (``flask run --debug``), which never
serves a request, starts nothing (with the debugger but no reloader, the first request
starts rota). Every process is a node of the cluster: runs are claimed once and schedules
fire once per fire time. Do not start rota before a server forks its workers (gunicorn
``--preload``): threads do not survive a fork; let each worker process call ``init_app``.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Sequence
from typing import Any

from flask import Flask

from rota.app import App

__all__ = ["Rota"]

RELOADER_CHILD_ENV = "WERKZEUG_RUN_MAIN"


class Rota:
    """The Flask extension: binds a rota App to Flask apps and runs it in their processes.

    ``app`` is the rota App (default: a new one on ``flask_app.config["ROTA_DATABASE_URL"]``,
    else the usual configuration). ``start=False`` only registers the App (e.g. in a web
    process while dedicated ``rota worker`` nodes do the work).
    """

    def __init__(
        self,
        app: App | None = None,
        flask_app: Flask | None = None,
        *,
        start: bool = True,
        worker: bool = True,
        scheduler: bool = True,
        maintenance: bool = True,
        queues: Sequence[str] | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.app = app
        self.start = start
        self._options: dict[str, Any] = {
            "worker": worker,
            "scheduler": scheduler,
            "maintenance": maintenance,
            "queues": queues,
            "concurrency": concurrency,
        }
        self._lock = threading.Lock()
        self._started_pid: int | None = None
        self._atexit_registered = False
        if flask_app is not None:
            self.init_app(flask_app)

    def init_app(self, flask_app: Flask) -> None:
        if self.app is None:
            self.app = App(database=flask_app.config.get("ROTA_DATABASE_URL"))
        flask_app.extensions["rota"] = self.app
        if not self.start:
            return
        if not _is_reloader_parent(flask_app):
            self.ensure_started()
        flask_app.before_request(self._before_request)

    def _before_request(self) -> None:
        if self._started_pid != os.getpid():
            self.ensure_started()

    def ensure_started(self) -> App:
        """Start rota's services in this process unless they run here already."""
        app = self.app
        if app is None:
            raise RuntimeError("Rota.init_app(flask_app) was not called")
        with self._lock:
            pid = os.getpid()
            if self._started_pid != pid:
                app.start(**self._options)
                self._started_pid = pid
                if not self._atexit_registered:
                    atexit.register(self.stop)
                    self._atexit_registered = True
        return app

    def stop(self) -> None:
        """Stop the services of this process gracefully (also run at interpreter exit)."""
        with self._lock:
            if self.app is not None and self._started_pid == os.getpid():
                self.app.stop()
                self._started_pid = None


def _is_reloader_parent(flask_app: Flask) -> bool:
    """True in the process that only watches files and restarts the serving child."""
    if os.environ.get(RELOADER_CHILD_ENV) == "true":
        return False
    return bool(flask_app.debug) and os.environ.get("FLASK_RUN_FROM_CLI") == "true"
