"""rota: background jobs for Python, on SQLite or PostgreSQL.

Define jobs on an ``App``, launch them from code, the CLI, REST or a schedule, and run them in
a worker, standalone or embedded in a web application.
"""

from typing import Any

from rota.app import App, set_asgi_factory
from rota.context import Context
from rota.errors import (
    BatchConflict,
    ConfigError,
    Discard,
    ExecutionNotFound,
    HandBack,
    IdempotencyConflict,
    InvalidArguments,
    LaunchError,
    Retry,
    RotaError,
    RunFailed,
    RunNotFound,
    Snooze,
    StorageUnavailable,
    UnknownJob,
    WorkflowNotFound,
)
from rota.handle import RunHandle, WorkflowHandle
from rota.jobs import Job
from rota.retry import Backoff
from rota.runs import Run, RunState
from rota.version import __version__
from rota.worker.process_pool import ProcessLimits
from rota.workflows import Upstream, Workflow, WorkflowRecord, WorkflowState, chain, group


def _web_asgi(app: App, token: str | None, read_token: str | None) -> Any:
    """``App.asgi``'s builder: the web layer, imported only when asked (``rota[web]``).

    Installed here, at the top of the package, because the web layer imports ``App``: were
    ``App`` to import it back, the two would form an import cycle.
    """
    try:
        from rota.web import asgi
    except ImportError as exc:
        raise ConfigError(
            f"the web API is not installed ({exc.name} is missing): pip install 'rota[web]'"
        ) from exc
    return asgi(app, token, read_token=read_token)


set_asgi_factory(_web_asgi)

__all__ = [
    "App",
    "Backoff",
    "BatchConflict",
    "ConfigError",
    "Context",
    "Discard",
    "ExecutionNotFound",
    "HandBack",
    "IdempotencyConflict",
    "InvalidArguments",
    "Job",
    "LaunchError",
    "ProcessLimits",
    "Retry",
    "RotaError",
    "Run",
    "RunFailed",
    "RunHandle",
    "RunNotFound",
    "RunState",
    "Snooze",
    "StorageUnavailable",
    "UnknownJob",
    "Upstream",
    "Workflow",
    "WorkflowHandle",
    "WorkflowNotFound",
    "WorkflowRecord",
    "WorkflowState",
    "__version__",
    "chain",
    "group",
]
