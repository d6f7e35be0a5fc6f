"""One URL for both Django and rota: env ``DATABASE_URL``, else SQLite next to manage.py.

``connection=`` enqueues need rota's tables in Django's database, so both read this URL.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"


def django_database(url: str) -> dict[str, Any]:
    """Django's DATABASES["default"] for a ``sqlite:///`` or ``postgresql://`` URL."""
    if url.startswith("sqlite:///"):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": url[len("sqlite:///") :]}
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"unsupported DATABASE_URL {url!r}: use sqlite:/// or postgresql://")
    return {
        "ENGINE": "django.db.backends.postgresql",  # psycopg 3 with Django >= 4.2
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }
