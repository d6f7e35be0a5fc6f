"""rota inside a Django project.

Add ``"rota.integrations.django.RotaConfig"`` (or ``"rota.integrations.django"``) to
``INSTALLED_APPS`` and name your App in ``settings.ROTA = {"APP": "myproject.jobs:app",
"START": True}``: the web server's processes then run the worker, scheduler and maintenance in
background threads, and ``python manage.py rota ...`` is the ``rota`` command for that App.

Enqueue inside Django's transaction, two ways:

- ``job.configure(connection=dbapi_connection()).enqueue(...)`` inserts the run in the current
  transaction of Django's connection: it exists only if that commits. rota's tables must be in
  the *same database* as Django's (SQLite: the same file; PostgreSQL: Django >= 4.2 with
  psycopg 3, not psycopg2).
- ``enqueue_on_commit(job, **kwargs)`` enqueues after the transaction commits (nothing if it
  rolls back); works whatever database rota uses, but a crash between the commit and the
  enqueue loses the run.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from rota.integrations.django.apps import RotaConfig, get_app, start_services, stop_services
from rota.jobs import Job

__all__ = [
    "RotaConfig",
    "dbapi_connection",
    "enqueue_on_commit",
    "get_app",
    "start_services",
    "stop_services",
]


def dbapi_connection(using: str | None = None) -> Any:
    """The raw DB-API connection under Django's connection ``using``, for ``connection=``.

    SQLite gives a ``sqlite3.Connection``, PostgreSQL (Django >= 4.2 with psycopg 3) a
    ``psycopg.Connection``. Use it inside ``transaction.atomic()``: outside one, Django runs in
    autocommit and the run is committed at once.
    """
    wrapper = connections[using or DEFAULT_DB_ALIAS]
    wrapper.ensure_connection()
    raw = wrapper.connection
    if wrapper.vendor == "sqlite":
        return raw
    if wrapper.vendor == "postgresql":
        if type(raw).__module__.split(".")[0] != "psycopg":
            raise ImproperlyConfigured(
                "rota's connection= needs psycopg 3 under Django's PostgreSQL backend "
                "(Django >= 4.2 with psycopg installed), not psycopg2"
            )
        return raw
    raise ImproperlyConfigured(
        f"rota's connection= supports SQLite and PostgreSQL, not Django's {wrapper.vendor!r}"
    )


def enqueue_on_commit(job: Job, *, using: str | None = None, **kwargs: Any) -> None:
    """Enqueue ``job(**kwargs)`` once the current transaction of ``using`` commits.

    Outside ``transaction.atomic()`` it enqueues at once; on rollback it enqueues nothing.
    """
    transaction.on_commit(lambda: job.enqueue(**kwargs), using=using)
