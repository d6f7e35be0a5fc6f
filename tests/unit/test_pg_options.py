"""rota's options in a PostgreSQL URL: taken out of what libpq gets, checked, and applied."""

from __future__ import annotations

import pytest

from rota.errors import ConfigError
from rota.storage.postgres.options import UrlOptions, parse

BASE = "postgresql://app:secret@bouncer:6432/jobs"
DIRECT = "postgresql://app:secret@db:5432/jobs"


def test_a_plain_url_is_given_to_libpq_as_it_is_and_listened_on() -> None:
    assert parse(BASE) == UrlOptions(BASE, False, BASE)
    assert parse(BASE + "?sslmode=require") == UrlOptions(
        BASE + "?sslmode=require", False, BASE + "?sslmode=require"
    )
    assert parse("postgres://u@h/d").conninfo == "postgresql://u@h/d"
    assert parse("postgresql+psycopg://u@h/d").conninfo == "postgresql://u@h/d"
    assert parse("host=h dbname=d").conninfo == "host=h dbname=d"


def test_transaction_pooling_prepares_nothing_and_polls() -> None:
    got = parse(BASE + "?sslmode=require&rota_pooler=transaction&application_name=x%20y")
    assert got == UrlOptions(BASE + "?sslmode=require&application_name=x%20y", True, None)
    assert parse(BASE + "?rota_pooler=session") == UrlOptions(BASE, False, BASE)


def test_rota_listen_names_the_direct_connection_encoded_or_not() -> None:
    encoded = "postgresql%3A%2F%2Fapp%3Asecret%40db%3A5432%2Fjobs%3Fsslmode%3Drequire"
    got = parse(f"{BASE}?rota_pooler=transaction&rota_listen={encoded}")
    assert got == UrlOptions(BASE, True, DIRECT + "?sslmode=require")
    assert parse(f"{BASE}?rota_listen={DIRECT}&rota_pooler=transaction").listen == DIRECT
    assert parse(f"{BASE}?rota_listen=postgres://u@db/jobs").listen == "postgresql://u@db/jobs"


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("rota_pooler=statement", "statement pooling"),
        ("rota_pooler=", "use transaction or session"),
        ("rota_poolr=transaction", "unknown option 'rota_poolr'"),
        ("rota_listen=db:5432", "must be a postgresql:// URL"),
    ],
)
def test_bad_options_are_refused_with_the_reason(query: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        parse(f"{BASE}?{query}")


def test_messages_show_neither_password() -> None:
    from rota.storage.postgres.store import PostgresStore

    store = PostgresStore(f"{BASE}?rota_pooler=transaction&rota_listen={DIRECT}")
    assert "secret" not in store._shown()
    assert store._shown() == "postgresql://app:***@bouncer:6432/jobs"


@pytest.mark.parametrize(
    "listen", [DIRECT, "postgresql%3A%2F%2Fapp%3Asecret%40db%3A5432%2Fjobs"], ids=["raw", "encoded"]
)
def test_a_shown_url_hides_the_listen_urls_password_too(listen: str) -> None:
    from rota.storage.urls import redact

    shown = redact(f"{BASE}?rota_pooler=transaction&rota_listen={listen}")
    assert shown == (
        "postgresql://app:***@bouncer:6432/jobs?rota_pooler=transaction"
        "&rota_listen=postgresql://app:***@db:5432/jobs"
    )
    assert (
        redact(BASE + "?sslmode=require")
        == "postgresql://app:***@bouncer:6432/jobs?sslmode=require"
    )
