"""``python manage.py rota ARGS...``: the ``rota`` command for the App in ``settings.ROTA``.

Every argument goes to rota's CLI unchanged, with ``--app`` from ``settings.ROTA["APP"]``:
``manage.py rota worker``, ``manage.py rota launch JOB --arg x=1``, ``manage.py rota runs list``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rota.integrations.django.apps import app_ref


def rota_argv(args: Sequence[str]) -> list[str]:
    return ["--app", app_ref(), *args]


class Command(BaseCommand):
    help = "Run the rota command line for the App in settings.ROTA (manage.py rota --help)."

    def run_from_argv(self, argv: list[str]) -> None:
        # rota parses its own options (--json, --help, ...): Django's parser must not see them.
        from rota.cli.main import main

        main(rota_argv(argv[2:]))

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("rota_args", nargs="*", help="arguments of the rota command")

    def handle(self, *args: Any, **options: Any) -> None:
        # call_command("rota", "runs", "list") lands here.
        from rota.cli.main import run

        code = run(rota_argv([*options.get("rota_args", []), *args]))
        if code:
            raise CommandError(f"rota exited with code {code}", returncode=code)
