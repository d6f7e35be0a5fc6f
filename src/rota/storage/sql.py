"""Loads named queries from ``queries.sql`` files (``-- name: verb`` blocks)."""

from __future__ import annotations

import re
from importlib import resources
from typing import LiteralString, cast

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def load_queries(package: str, filename: str = "queries.sql") -> dict[str, LiteralString]:
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    parts = _NAME.split(text)
    queries: dict[str, LiteralString] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"query {name!r} defined twice in {package}/{filename}")
        queries[name] = cast(LiteralString, body.strip().rstrip(";"))
    return queries


def contains_pattern(text: str) -> str:
    """A ``LIKE``/``ILIKE`` pattern (with ``ESCAPE '\\'``) matching any text containing
    ``text``, whose ``%``, ``_`` and ``\\`` match only themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def load_migrations(package: str) -> list[tuple[int, str, str]]:
    """(version, name, sql) for every ``NNNN_name.sql`` in ``package/migrations``, in order."""
    folder = resources.files(package).joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        m = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if m:
            found.append((int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migrations of {package} are not numbered 1..n: {versions}")
    return found
