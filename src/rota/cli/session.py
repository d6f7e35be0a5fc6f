"""What the global options give every command: the app, loaded once and only when needed."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field

from rota.app import App
from rota.cli.errors import CliError
from rota.cli.loader import load_app
from rota.cli.logformat import JsonFormatter
from rota.cli.output import note

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass
class Session:
    app_ref: str | None = None
    database: str | None = None
    log_level: str | None = None
    log_format: str = "text"
    _app: App | None = field(default=None, repr=False)

    def app(self, *, jobs: bool = False) -> App:
        """The user's app; a bare ``rota.App()`` when none was given and ``jobs`` is False.

        ``jobs=True`` marks commands that need the job registry (launch, exec, worker, ...).
        """
        if self._app is None:
            if self.app_ref:
                app = load_app(self.app_ref)
            elif jobs:
                raise CliError(
                    "no app given: use --app MODULE:ATTR or --app path/to/file.py (or set ROTA_APP)"
                )
            else:
                app = App()
            if self.database:
                app.use_database(self.database)
            self._app = app
        return self._app

    def configure_logging(self, default: str = "WARNING") -> None:
        level = (self.log_level or default).upper()
        root = logging.getLogger()
        if not root.handlers:  # the first call decides; commands may call again for their level
            handler = logging.StreamHandler(sys.stderr)
            json_lines = self.log_format == "json"
            handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
            root.addHandler(handler)
        root.setLevel(level)
        # rota logs one line per outage; the pool's own retries repeat it on every attempt
        pool_level = logging.DEBUG if level == "DEBUG" else logging.ERROR
        logging.getLogger("psycopg.pool").setLevel(pool_level)

    def note(self, message: str) -> None:
        """A line for people on stderr; with ``--log-format json``, a JSON line like the logs."""
        if self.log_format != "json":
            note(message)
            return
        record = logging.LogRecord("rota.cli", logging.INFO, "", 0, message, None, None)
        sys.stderr.write(JsonFormatter().format(record) + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None
