"""An app whose jobs raise or return hostile values, for ``rota --app <this file> worker``.

A value is chosen by ``kind`` (and ``seed`` for the random parts), so the test that launches a
run knows what its job will do. ``build(database)`` gives the same jobs to the test process,
which launches runs and reads them back; the worker process loads the module-level ``app``.
"""

from __future__ import annotations

import asyncio
import math
import random
from typing import Any

import rota

HUGE = 3 * 1024 * 1024
"""Characters of a huge message or result: past MAX_RESULT_BYTES and MAX_ERROR_MESSAGE."""

ERROR_KINDS = (
    "surrogate",
    "nul",
    "huge",
    "str_raises",
    "repr_raises",
    "unprintable",
    "recursion",
    "system_exit",
    "keyboard_interrupt",
    "generator_exit",
    "random_text",
)
"""What ``fail_with`` can raise: each must fail its attempt with a readable error entry."""

BAD_RESULTS = (
    "nul",
    "surrogate",
    "surrogate_key",
    "huge",
    "nan",
    "object",
    "set",
    "bytes",
    "deep",
    "repr_raises",
    "random_text",
)
"""What ``return_value`` can return that cannot be stored: each fails its attempt."""

GOOD_RESULTS = ("emoji", "controls", "escaped_nul", "nested")
"""Odd values that are valid JSON text: each must be stored as it is."""


class Unprintable(Exception):
    """An exception that can be neither printed nor repr'd."""

    def __str__(self) -> str:
        raise RuntimeError("no str() for you")

    def __repr__(self) -> str:
        raise RuntimeError("no repr() either")


class NoStr(ValueError):
    def __str__(self) -> str:
        raise RuntimeError("no str() for you")


class NoRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr() for you")


def random_text(seed: int, size: int = 200) -> str:
    """Text mixing ASCII, NUL, lone surrogates, other control characters and emoji."""
    rng = random.Random(seed)
    pool = ["a", "é", "\x00", "\udcff", "\ud800", "\x1b", "\n", "😀", "\\", '"']
    return "".join(rng.choice(pool) for _ in range(size))


def deep(n: int) -> int:
    return deep(n + 1) + 1


def hostile_error(kind: str, seed: int = 0) -> BaseException:
    errors: dict[str, Any] = {
        "surrogate": lambda: ValueError("unexpected file: report-\udcff.csv"),
        "nul": lambda: ValueError("bad row: a\x00b"),
        "huge": lambda: ValueError("x" * HUGE),
        "str_raises": lambda: NoStr(),
        "repr_raises": lambda: ValueError(NoRepr()),
        "unprintable": lambda: Unprintable(),
        "system_exit": lambda: SystemExit(3),
        "keyboard_interrupt": lambda: KeyboardInterrupt(),
        "generator_exit": lambda: GeneratorExit(),
        "random_text": lambda: ValueError(random_text(seed)),
    }
    return errors[kind]()  # type: ignore[no-any-return]


def hostile_value(kind: str, seed: int = 0) -> Any:
    nested: list[Any] = []
    for _ in range(5000):
        nested = [nested]
    values: dict[str, Any] = {
        "nul": lambda: "a\x00b",
        "surrogate": lambda: {"files": ["ok.csv", "bad-\udcff.csv"]},
        "surrogate_key": lambda: {"\udcff": 1},
        "huge": lambda: "y" * HUGE,
        "nan": lambda: {"ratio": math.nan},
        "object": lambda: object(),
        "set": lambda: {1, 2},
        "bytes": lambda: b"raw",
        "deep": lambda: nested,
        "repr_raises": lambda: NoRepr(),
        "random_text": lambda: [random_text(seed)],
        "emoji": lambda: "done 😀 ✓",
        "controls": lambda: "tab\tbell\x07esc\x1b",
        "escaped_nul": lambda: "a\\u0000b \\x00",
        "nested": lambda: {"a": [1, {"b": None}], "n": 1.5},
    }
    return values[kind]()


def build(database: str | None = None) -> rota.App:
    app = rota.App(database=database, poll_interval=0.1, lease_seconds=5)

    @app.job(max_attempts=1)
    def fail_with(kind: str, seed: int = 0) -> None:
        if kind == "recursion":
            deep(0)
        raise hostile_error(kind, seed)

    @app.job(max_attempts=1)
    async def afail_with(kind: str, seed: int = 0) -> None:
        await asyncio.sleep(0)
        if kind == "recursion":
            deep(0)
        raise hostile_error(kind, seed)

    @app.job(max_attempts=1)
    def return_value(kind: str, seed: int = 0) -> Any:
        return hostile_value(kind, seed)

    @app.job(max_attempts=1)
    async def areturn_value(kind: str, seed: int = 0) -> Any:
        await asyncio.sleep(0)
        return hostile_value(kind, seed)

    def broken_backoff(attempt: int) -> float:
        raise ZeroDivisionError("the backoff function itself fails")

    @app.job(max_attempts=3, backoff=broken_backoff)
    def bad_backoff() -> None:
        raise ValueError("first failure")

    @app.job(max_attempts=2)
    def retry_later() -> None:
        raise rota.Retry(after=3600)

    @app.job
    def add(a: int, b: int) -> int:
        return a + b

    @app.job
    async def aadd(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    return app


app = build()
