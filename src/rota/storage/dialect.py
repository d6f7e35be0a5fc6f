"""What a backend supplies so that a verb can be written once for SQLite and PostgreSQL.

The verbs whose SQL differs between backends only in encoding (schedules, batch executions,
idempotency keys, nodes, stats) live in ``rota.storage.portable``, written against this seam:
a ``Dialect`` (how times, lists, flags and JSON travel; where the backend's named queries are;
whether a transaction must lock rows itself), a ``Tx`` (one open transaction, rows as dicts)
and ``SqlBackend`` (reads, single writes, transactions, and the backend's own run insert).
Each backend keeps its ``.sql`` files, with the same query names. The hot path (claim, finish,
bulk insert, notify) stays per backend, where each one's strengths matter.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, LiteralString, Protocol

from rota.storage.base import Inserted, InsertParams
from rota.storage.sql import load_queries

Row = dict[str, Any]
Params = Mapping[str, Any]


@functools.cache
def _queries(package: str, filename: str) -> dict[str, LiteralString]:
    return load_queries(package, filename)


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one backend encodes what the portable verbs send and decodes what they read."""

    package: str
    """The package holding the backend's ``.sql`` files."""
    time: Callable[[datetime | None], Any]
    read_time: Callable[[Any], datetime | None]
    read_json: Callable[[Any], Any]
    """JSON as stored (text in SQLite; already decoded from jsonb by psycopg)."""
    array: Callable[[Sequence[Any]], Any]
    """A list parameter (a JSON text for ``json_each`` in SQLite; an array for ``ANY``)."""
    flag: Callable[[bool], Any]
    row_locks: bool
    """Whether a transaction must lock the rows it serialises on (``FOR UPDATE``, PostgreSQL).
    False where every write transaction holds the database's write lock (``BEGIN IMMEDIATE``)."""

    def queries(self, filename: str) -> dict[str, LiteralString]:
        return _queries(self.package, filename)

    def read_time_not_null(self, value: Any) -> datetime:
        """A stored time that is never NULL."""
        found = self.read_time(value)
        if found is None:  # pragma: no cover - NOT NULL columns
            raise ValueError("a stored time that cannot be NULL is NULL")
        return found


class Tx(Protocol):
    """One open transaction, or a caller's connection (``connection=``); rows are dicts."""

    @property
    def connection(self) -> Any:
        """The driver's connection: for a transactional writer and the backend's insert."""
        ...

    def rows(self, sql: LiteralString, params: Params) -> list[Row]: ...
    def one(self, sql: LiteralString, params: Params) -> Row | None: ...
    def count(self, sql: LiteralString, params: Params) -> int:
        """Run a statement that returns no rows; how many rows it changed."""
        ...


class SqlBackend(ABC):
    """What the portable verbs need from a backend; the backend's base class provides it."""

    dialect: ClassVar[Dialect]

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Tx]:
        """A write transaction: ``BEGIN IMMEDIATE`` in SQLite, a plain one in PostgreSQL."""

    @abstractmethod
    def fetch(self, sql: LiteralString, params: Params | None = None) -> list[Row]:
        """One read."""

    @abstractmethod
    def write(self, sql: LiteralString, params: Params) -> int:
        """One write statement in its own transaction; how many rows it changed."""

    @abstractmethod
    def write_rows(self, sql: LiteralString, params: Params) -> list[Row]:
        """One write statement with ``RETURNING``, in its own transaction."""

    @abstractmethod
    def joined(self, connection: Any) -> AbstractContextManager[Tx]:
        """A caller's open connection (``connection=``) as a Tx: statements join its
        transaction, and nothing is committed here."""

    @abstractmethod
    def insert_in(self, tx: Tx, params: InsertParams) -> list[Inserted]:
        """The backend's run insert (the launch hot path), inside ``tx``."""
