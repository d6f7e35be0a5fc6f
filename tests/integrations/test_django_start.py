"""Which processes of a Django project start the rota services (pure: no settings needed)."""

from __future__ import annotations

import pytest

pytest.importorskip("django")

from rota.integrations.django.apps import management_command, should_start

RUNSERVER = ["/srv/manage.py", "runserver", "0:8000"]


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["/srv/manage.py", "migrate"], "migrate"),
        (["/venv/bin/django-admin", "shell"], "shell"),
        (["/venv/lib/django/__main__.py", "runserver"], "runserver"),
        (["/srv/manage.py"], ""),
        (["/venv/bin/gunicorn", "shop.wsgi"], None),
        (["/venv/lib/gunicorn/__main__.py", "shop.wsgi"], None),
        (["/venv/bin/uvicorn", "shop.asgi:application"], None),
        ([], None),
    ],
)
def test_management_command(argv: list[str], command: str | None) -> None:
    assert management_command(argv) == command


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (RUNSERVER, {}, False),  # the autoreloader's parent only watches files
        (RUNSERVER, {"RUN_MAIN": "true"}, True),  # its child serves
        ([*RUNSERVER, "--noreload"], {}, True),
        (["/srv/manage.py", "migrate"], {"RUN_MAIN": "true"}, False),
        (["/srv/manage.py", "rota", "worker"], {}, False),
        (["/srv/manage.py", "shell"], {}, False),
        (["/venv/bin/gunicorn", "shop.wsgi"], {}, True),
        (["/venv/bin/gunicorn", "shop.wsgi"], {"ROTA_DJANGO_START": "0"}, False),
        (["/srv/manage.py", "shell"], {"ROTA_DJANGO_START": "1"}, True),
    ],
)
def test_should_start(argv: list[str], environ: dict[str, str], expected: bool) -> None:
    assert should_start(argv, environ, enabled=True) is expected


def test_start_setting_off_starts_nothing() -> None:
    assert should_start(["/venv/bin/gunicorn", "shop.wsgi"], {}, enabled=False) is False
