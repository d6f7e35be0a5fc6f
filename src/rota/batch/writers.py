"""Restartable item writers for chunk steps.

File writers make output exactly-once: ``update`` flushes and fsyncs before the checkpoint
``{"size": bytes}`` is committed, and a restart truncates the file back to that size, removing
whatever the failed execution wrote after its last commit.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, overload

from rota.batch.context import StepContext
from rota.batch.readers import PathSpec, placeholder_for, resolve_path, sql_identifier


class _FileWriter:
    """Open (fresh or truncate-to-checkpoint), append, fsync on update, close."""

    def __init__(self, path: PathSpec, key: str) -> None:
        self._path_spec = path
        self.path = resolve_path(path, None)
        self.key = key
        self._file: IO[bytes] | None = None

    def open(self, ctx: StepContext) -> None:
        """Resume at the checkpoint's size, or (no checkpoint) start an empty file."""
        self.close()
        self.path = resolve_path(self._path_spec, ctx)
        saved = ctx.state.get(self.key)
        if saved:
            size = int(saved["size"])
            try:
                f = self.path.open("r+b")
            except FileNotFoundError:
                raise FileNotFoundError(
                    f"{self.path} is missing but its checkpoint says {size} bytes were written"
                ) from None
            if os.fstat(f.fileno()).st_size < size:
                f.close()
                raise ValueError(f"{self.path} is shorter than its checkpoint ({size} bytes)")
            f.truncate(size)
            f.seek(size)
            self._file = f
            self._resume(saved)
        else:
            self._file = self.path.open("wb")
            _fsync_dir(self.path.parent)  # a committed checkpoint must not outlive the file
            self._start()

    def update(self, ctx: StepContext) -> None:
        f = self._opened()
        f.flush()
        os.fsync(f.fileno())
        ctx.state[self.key] = {"size": f.tell(), **self._extra()}

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __call__(self, items: list[Any]) -> None:
        data = self._encode(items)
        if data:
            self._opened().write(data)

    def _opened(self) -> IO[bytes]:
        if self._file is None:
            raise RuntimeError(f"{type(self).__name__}({self.path}) is not open: call open(ctx)")
        return self._file

    def _start(self) -> None:
        """Write what a fresh file begins with."""

    def _resume(self, saved: Mapping[str, Any]) -> None:
        """Restore what ``_extra`` stored."""

    def _extra(self) -> dict[str, Any]:
        return {}

    def _encode(self, items: list[Any]) -> bytes:
        raise NotImplementedError


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync elsewhere
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class CsvWriter(_FileWriter):
    """Rows to a CSV file: dicts by ``fieldnames`` (default: the first dict's keys) or sequences.

    Checkpoint ``{"size": bytes, "fieldnames": [...]}`` (fieldnames once known). The header is
    written with the fieldnames; sequences with ``header=True`` need ``fieldnames=``. A dict
    with a key outside the fieldnames is an error, a missing key an empty field.
    """

    def __init__(
        self,
        path: PathSpec,
        *,
        fieldnames: Sequence[str] | None = None,
        delimiter: str = ",",
        header: bool = True,
        encoding: str = "utf-8",
        lineterminator: str = "\r\n",
        key: str = "writer",
    ) -> None:
        super().__init__(path, key)
        self.fieldnames = list(fieldnames) if fieldnames is not None else None
        self.delimiter = delimiter
        self.header = header
        self.encoding = encoding
        self.lineterminator = lineterminator
        self._names = self.fieldnames

    def _start(self) -> None:
        self._names = self.fieldnames
        if self.header and self._names is not None:
            self._opened().write(self._rows([self._names]))

    def _resume(self, saved: Mapping[str, Any]) -> None:
        names = saved.get("fieldnames")
        self._names = list(names) if names is not None else self.fieldnames

    def _extra(self) -> dict[str, Any]:
        return {"fieldnames": self._names} if self._names is not None else {}

    def _encode(self, items: list[Any]) -> bytes:
        names, rows = self._names, list[Sequence[Any]]()
        for item in items:
            if isinstance(item, Mapping):
                if names is None:
                    names = [str(name) for name in item]
                    if self.header:
                        rows.append(names)
                extra = item.keys() - set(names)
                if extra:
                    raise ValueError(f"CsvWriter: keys {sorted(extra)} not in the fieldnames")
                rows.append([item.get(name, "") for name in names])
            elif isinstance(item, str | bytes) or not isinstance(item, Sequence):
                raise TypeError(f"CsvWriter writes dicts or sequences, not {type(item).__name__}")
            elif self.header and names is None:
                raise TypeError("CsvWriter with header=True needs fieldnames= for sequence items")
            else:
                rows.append(item)
        self._names = names  # only once the whole chunk encodes: a failed one writes nothing
        return self._rows(rows)

    def _rows(self, rows: list[Sequence[Any]]) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.delimiter, lineterminator=self.lineterminator)
        writer.writerows(rows)
        return buffer.getvalue().encode(self.encoding)


class JsonLinesWriter(_FileWriter):
    """One JSON value per line (UTF-8); ``default`` converts what json cannot (as in json.dumps)."""

    def __init__(
        self,
        path: PathSpec,
        *,
        default: Callable[[Any], Any] | None = None,
        key: str = "writer",
    ) -> None:
        super().__init__(path, key)
        self.default = default

    def _encode(self, items: list[Any]) -> bytes:
        return "".join(
            json.dumps(item, ensure_ascii=False, default=self.default) + "\n" for item in items
        ).encode("utf-8")


class SqlWriter:
    """Inserts items (dicts by column, or sequences in ``columns`` order) into ``table``.

    Without ``connect`` it is a transactional writer: the runner calls
    ``write_in(connection, items)`` inside the transaction that commits the chunk's
    checkpoint, so each item is inserted exactly once (the table must be in rota's database).
    With ``connect`` (a zero-argument callable returning a sqlite3 or psycopg connection) it
    is a plain writer that commits on its own connection: at-least-once, since a process that
    dies between that commit and rota's checkpoint writes the chunk again on restart (make the
    insert idempotent, e.g. with a unique key, if that matters). Such a writer has no
    ``write_in``, so the runner never routes its items to rota's database.
    """

    table: str
    columns: list[str] | None
    connect: Callable[[], Any] | None
    _table: str

    @overload
    def __new__(
        cls, table: str, *, columns: Sequence[str] | None = None, connect: None = None
    ) -> _InTransactionSqlWriter: ...
    @overload
    def __new__(
        cls, table: str, *, columns: Sequence[str] | None = None, connect: Callable[[], Any]
    ) -> _CommittingSqlWriter: ...
    def __new__(
        cls,
        table: str,
        *,
        columns: Sequence[str] | None = None,
        connect: Callable[[], Any] | None = None,
    ) -> SqlWriter:
        # Set up here, not in __init__, so type checkers see which of the two kinds it is.
        if cls is SqlWriter:
            cls = _CommittingSqlWriter if connect is not None else _InTransactionSqlWriter
        self = object.__new__(cls)
        self.table = table
        self._table = sql_identifier(table, qualified=True)
        self.columns = list(columns) if columns is not None else None
        for column in self.columns or ():
            sql_identifier(column)
        self.connect = connect
        return self

    def __call__(self, items: list[Any]) -> None:
        raise NotImplementedError

    def _insert(self, connection: Any, items: list[Any]) -> None:
        if not items:
            return
        columns = self.columns
        if columns is None:
            if not isinstance(items[0], Mapping):
                raise TypeError("SqlWriter needs columns= to insert sequence items")
            columns = list(items[0])
        rows = [self._row(item, columns, derived=self.columns is None) for item in items]
        mark = placeholder_for(connection)
        sql = (
            f"INSERT INTO {self._table} ({', '.join(sql_identifier(c) for c in columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))})"
        )
        cursor = connection.cursor()
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()

    def _row(self, item: Any, columns: list[str], *, derived: bool) -> tuple[Any, ...]:
        if isinstance(item, Mapping):
            missing = [c for c in columns if c not in item]
            if missing or (derived and len(item) != len(columns)):
                raise ValueError(
                    f"SqlWriter: item keys {sorted(item)} do not match the columns {columns}"
                )
            return tuple(item[c] for c in columns)
        if isinstance(item, str | bytes) or not isinstance(item, Sequence):
            raise TypeError(f"SqlWriter inserts dicts or sequences, not {type(item).__name__}")
        if len(item) != len(columns):
            raise ValueError(f"SqlWriter: {len(item)} values for the columns {columns}")
        return tuple(item)


class _InTransactionSqlWriter(SqlWriter):
    def write_in(self, connection: Any, items: list[Any]) -> None:
        """Insert into the caller's open transaction; the caller commits."""
        self._insert(connection, items)

    def __call__(self, items: list[Any]) -> None:
        raise TypeError(
            f"SqlWriter({self.table!r}) without connect= writes only inside a rota chunk step "
            "(through write_in, in the checkpoint's transaction): pass connect= to use it alone"
        )


class _CommittingSqlWriter(SqlWriter):
    _connection: Any = None

    def open(self, ctx: StepContext) -> None:
        self.close()

    def update(self, ctx: StepContext) -> None:
        """Nothing to checkpoint: each write is already committed."""

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()

    def __call__(self, items: list[Any]) -> None:
        if not items:
            return
        assert self.connect is not None
        if self._connection is None:
            self._connection = self.connect()
        try:
            self._insert(self._connection, items)
            self._connection.commit()
        except BaseException:
            self.close()  # closing without commit rolls back; the next call reconnects
            raise
