"""The app the REST tests serve: written into each test's tmp dir and loaded from there."""

SOURCE = '''
import os
import time

import rota

app = rota.App(name="webtest", poll_interval=0.05, lease_seconds=5, shutdown_timeout=5)


@app.job
def add(a: int, b: int = 0) -> int:
    """Add two numbers."""
    return a + b


@app.job(queue="mail", max_attempts=1)
def boom(message: str = "boom") -> None:
    raise ValueError(message)


@app.job
def nothing() -> None:
    pass


@app.job(max_attempts=1)
def block(path: str, ctx: rota.Context) -> str:
    """Runs until the file at ``path`` exists or the run is cancelled (at most 30 s)."""
    deadline = time.monotonic() + 30
    while not os.path.exists(path) and not ctx.cancelled and time.monotonic() < deadline:
        time.sleep(0.01)
    return "released"
'''

RUNNER = """
import importlib.util
import logging
import os
import sys

from rota.web.server import serve

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
app_file, database, host, port, node = sys.argv[1:6]
spec = importlib.util.spec_from_file_location("webtest_app", app_file)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
app = module.app
app.use_database(database)
start = (lambda: app.start(scheduler=False)) if node == "node" else None
serve(app, host, int(port), before=start, after=app.stop, access_log=False)
"""
