"""rota: background jobs for Python, on SQLite or PostgreSQL.

Define jobs on an ``App``, launch them from code, the CLI, REST or a schedule, and run them in
a worker, standalone or embedded in a web application.
"""

from rota.app import App
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
    StorageUnavailable,
    UnknownJob,
)
from rota.handle import RunHandle
from rota.jobs import Job
from rota.retry import Backoff
from rota.runs import Run, RunState

__version__ = "0.1.0"

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
    "Retry",
    "RotaError",
    "Run",
    "RunFailed",
    "RunHandle",
    "RunNotFound",
    "RunState",
    "StorageUnavailable",
    "UnknownJob",
    "__version__",
]
