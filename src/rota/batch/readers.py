"""Restartable item readers for chunk steps.

File and SQL readers resume themselves (``resumes = True``): ``update`` stores in
``ctx.state[key]`` where the last item the runner took ends (a byte offset, or the last key of
a table), so a restart seeks there instead of re-reading everything before it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence, Sized
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from rota.batch.context import StepContext

T = TypeVar("T")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def sql_identifier(name: str, *, qualified: bool = False) -> str:
    """``name`` double-quoted for SQL, or ValueError: user values are never spliced in raw.

    Quoting makes the name case-sensitive on PostgreSQL: spell it as the catalog does
    (lower case for names created unquoted).
    """
    parts = name.split(".") if isinstance(name, str) else []
    if not parts or len(parts) > (2 if qualified else 1) or not all(map(_NAME.match, parts)):
        shape = "an identifier or schema.identifier" if qualified else "an identifier"
        raise ValueError(f"not a plain SQL name ({shape}: letters, digits, _): {name!r}")
    return ".".join(f'"{part}"' for part in parts)


def placeholder_for(connection: Any) -> str:
    """The parameter marker of a DB-API connection's driver: ``?`` (sqlite3) or ``%s`` (psycopg)."""
    driver = type(connection).__module__.partition(".")[0]
    style = getattr(sys.modules.get(driver), "paramstyle", None)
    if style == "qmark":
        return "?"
    if style in ("format", "pyformat"):
        return "%s"
    raise ValueError(
        f"unsupported DB-API connection {type(connection).__qualname__} from {driver!r} "
        f"(paramstyle {style!r}): use sqlite3 or psycopg"
    )


class _Checkpointed:
    """Open/update/close of a reader that yields from a generator and remembers a position."""

    resumes = True

    def __init__(self, key: str) -> None:
        self.key = key
        self._saved: dict[str, Any] = {}
        self._items: Generator[Any, None, None] | None = None
        self._opened = False

    def open(self, ctx: StepContext) -> None:
        """Forget any earlier execution and start from this one's checkpoint (if any)."""
        self.close()
        self._saved = dict(ctx.state.get(self.key) or {})
        self._opened = True

    def update(self, ctx: StepContext) -> None:
        ctx.state[self.key] = dict(self._saved)

    def close(self) -> None:
        if self._items is not None:
            self._items.close()  # runs the generator's cleanup: closes its file or connection
            self._items = None
        self._opened = False

    def __call__(self, ctx: StepContext) -> Iterator[Any]:
        if not self._opened:
            self.open(ctx)
        if self._items is not None:
            self._items.close()
        self._items = self._read(dict(self._saved))
        return self._items

    def _read(self, saved: dict[str, Any]) -> Generator[Any, None, None]:
        raise NotImplementedError


PathSpec = str | os.PathLike[str] | Callable[[StepContext], "str | os.PathLike[str]"]
"""A file's path, or a function of the step context giving it (e.g. one file per partition:
``lambda ctx: f"part-{ctx.partition['partition']}.csv"``)."""


def resolve_path(spec: PathSpec, ctx: StepContext | None) -> Path:
    if callable(spec):
        if ctx is None:
            return Path(f"<path of {getattr(spec, '__name__', 'a function')}>")
        return Path(spec(ctx))
    return Path(spec)


class _FileReader(_Checkpointed):
    def __init__(self, path: PathSpec, key: str) -> None:
        super().__init__(key)
        self._path_spec = path
        self.path = resolve_path(path, None)

    def open(self, ctx: StepContext) -> None:
        super().open(ctx)
        self.path = resolve_path(self._path_spec, ctx)

    def _open_at(self, offset: int) -> IO[bytes]:
        f = self.path.open("rb")
        size = os.fstat(f.fileno()).st_size
        if offset > size:
            f.close()
            raise ValueError(
                f"{self.path} has {size} bytes but its checkpoint is at byte {offset}: "
                "was the file replaced since the failed execution?"
            )
        return f


class _Lines:
    """Decoded lines of a binary file, counting the bytes and lines handed out so far."""

    def __init__(self, f: IO[bytes], encoding: str, offset: int, line: int) -> None:
        self.f, self.encoding, self.offset, self.line = f, encoding, offset, line

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self.f.readline()
        if not raw:
            raise StopIteration
        self.offset += len(raw)
        self.line += 1
        return raw.decode(self.encoding)


class CsvReader(_FileReader):
    """Rows of a CSV file: dicts by header (or ``fieldnames``), lists without either.

    The checkpoint is ``{"offset": bytes, "line": lines}`` after the last row taken. The csv
    module pulls lines only as a record needs them, so a record's end is a line end even when
    quoted fields span lines. The encoding must be ASCII-compatible (``\\n`` is one byte).
    Quoting is parsed strictly and a row with the wrong number of fields is an error, both
    naming the line: bad input stops the step rather than being half-read.
    """

    def __init__(
        self,
        path: PathSpec,
        *,
        delimiter: str = ",",
        header: bool = True,
        fieldnames: Sequence[str] | None = None,
        encoding: str = "utf-8",
        key: str = "reader",
    ) -> None:
        super().__init__(path, key)
        if not "a\n".encode(encoding).endswith(b"a\n"):
            raise ValueError(f"CsvReader needs an ASCII-compatible encoding, not {encoding!r}")
        self.delimiter = delimiter
        self.header = header
        self.fieldnames = list(fieldnames) if fieldnames is not None else None
        self.encoding = encoding

    def _read(self, saved: dict[str, Any]) -> Generator[Any, None, None]:
        offset, line = int(saved.get("offset", 0)), int(saved.get("line", 0))
        with self._open_at(offset) as f:
            lines = _Lines(f, self.encoding, 0, 0)
            rows = csv.reader(lines, delimiter=self.delimiter, strict=True)
            names = self.fieldnames
            if self.header:
                first = self._next_row(rows, lines)
                if first is None:
                    return
                names = names or first
            if offset:  # the header came from the file's start; the rows resume here
                f.seek(offset)
                lines.offset, lines.line = offset, line
            while (row := self._next_row(rows, lines)) is not None:
                if names is not None and len(row) != len(names):
                    raise ValueError(
                        f"{self.path}, line {lines.line}: {len(row)} fields, "
                        f"expected {len(names)} ({', '.join(names)})"
                    )
                self._saved = {"offset": lines.offset, "line": lines.line}
                yield row if names is None else dict(zip(names, row, strict=True))

    def _next_row(self, rows: Iterator[list[str]], lines: _Lines) -> list[str] | None:
        """The next non-blank record, or None at the end of the file."""
        while True:
            start = lines.line + 1
            try:
                row = next(rows)
            except StopIteration:
                return None
            except csv.Error as exc:
                raise csv.Error(f"{self.path}, record starting at line {start}: {exc}") from exc
            if row:
                return row


class JsonLinesReader(_FileReader):
    """One JSON value per line (blank lines skipped); checkpoint ``{"offset", "line"}``."""

    def __init__(self, path: PathSpec, *, key: str = "reader") -> None:
        super().__init__(path, key)

    def _read(self, saved: dict[str, Any]) -> Generator[Any, None, None]:
        offset, line = int(saved.get("offset", 0)), int(saved.get("line", 0))
        with self._open_at(offset) as f:
            f.seek(offset)
            for raw in f:
                offset += len(raw)
                line += 1
                if not raw.strip():
                    continue
                try:
                    item = json.loads(raw)
                except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
                    raise ValueError(f"{self.path}, line {line}: not valid JSON: {exc}") from None
                self._saved = {"offset": offset, "line": line}
                yield item


class IterableReader(Generic[T]):
    """Items of an in-memory iterable, or of a zero-argument callable returning one.

    It keeps no checkpoint (``resumes = False``): on a restart the runner reads it again from
    the start and skips the items already committed, so the source must give the same items
    in the same order each time. A one-shot iterator (e.g. a generator object) cannot be read
    again and is refused: pass a list, or the generator function itself.
    """

    resumes = False

    def __init__(self, source: Iterable[T] | Callable[[], Iterable[T]]) -> None:
        if isinstance(source, Iterator):
            raise TypeError(
                "IterableReader needs a re-readable source (a list, or a zero-argument callable "
                "such as a generator function), not a one-shot iterator: a restart reads it again"
            )
        self._source = source

    def __call__(self, ctx: StepContext) -> Iterator[T]:
        source = self._source
        return iter(source if isinstance(source, Iterable) else source())

    def total(self, ctx: StepContext) -> int | None:
        """The number of items when the source knows it (a list, a range): for progress."""
        source = self._source
        if not isinstance(source, Iterable):
            source = source()
        return len(source) if isinstance(source, Sized) else None


class SqlReader(_Checkpointed):
    """Rows of a table as dicts, by keyset pagination on a unique, non-null ``key_column``.

    Each page is ``WHERE key_column > last ORDER BY key_column LIMIT page_size`` in its own
    short read transaction (no OFFSET, no connection idle in a transaction between chunks),
    so a restart after row N costs one indexed seek. The checkpoint is ``{"last": key}`` (the
    key must be an int, str or float to be stored). ``where`` is trusted SQL that uses the
    connection's placeholder style (``?`` sqlite3, ``%s`` psycopg), with ``params``.
    """

    def __init__(
        self,
        connect: Callable[[], Any],
        *,
        table: str,
        key_column: str = "id",
        columns: str | Sequence[str] = "*",
        where: str | None = None,
        params: Sequence[Any] | None = None,
        page_size: int = 1000,
        key: str = "reader",
    ) -> None:
        super().__init__(key)
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, not {page_size}")
        self.connect = connect
        self.key_column = key_column
        self._table = sql_identifier(table, qualified=True)
        self._key = sql_identifier(key_column)
        names = [c.strip() for c in columns.split(",")] if isinstance(columns, str) else columns
        if list(names) == ["*"]:
            self._select = "*"
        else:
            quoted = [sql_identifier(c) for c in names]
            self._select = ", ".join(quoted if self._key in quoted else [*quoted, self._key])
        self.where = where
        self.params = list(params or ())
        self.page_size = page_size

    def update(self, ctx: StepContext) -> None:
        last = self._saved.get("last")
        if last is not None and not isinstance(last, int | str | float):
            raise TypeError(
                f"SqlReader cannot checkpoint key {last!r} of type {type(last).__name__}: "
                "key_column values must be int, str or float"
            )
        super().update(ctx)

    def _query(self, mark: str, after: bool) -> str:
        conditions = [f"({self.where})"] if self.where else []
        if after:
            conditions.append(f"{self._key} > {mark}")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return (
            f"SELECT {self._select} FROM {self._table}{where} "
            f"ORDER BY {self._key} LIMIT {int(self.page_size)}"
        )

    def _read(self, saved: dict[str, Any]) -> Generator[dict[str, Any], None, None]:
        last = saved.get("last")
        connection = self.connect()
        try:
            mark = placeholder_for(connection)
            while True:
                params = [*self.params, last] if last is not None else self.params
                rows = _fetch(connection, self._query(mark, last is not None), params)
                for row in rows:
                    last = row.get(self.key_column)
                    if last is None:
                        raise ValueError(f"SqlReader key column {self.key_column!r} is NULL")
                    self._saved = {"last": last}
                    yield row
                if len(rows) < self.page_size:
                    return
        finally:
            connection.close()


def _fetch(connection: Any, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    """One page as dicts, whatever the row factory; the read transaction ends at once."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
        names = [d[0] for d in cursor.description]
        rows = [
            dict(r) if isinstance(r, dict) else dict(zip(names, r, strict=True))
            for r in cursor.fetchall()
        ]
    finally:
        cursor.close()
    connection.rollback()
    return rows
