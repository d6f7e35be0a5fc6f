"""The one set of input limits, shared by every launcher and the worker (pure: no I/O).

A launcher may refuse earlier (the REST API caps a body before parsing it), but never with a
different number: what one launcher accepts, the others accept too.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1
"""Largest run, execution or workflow id (a signed 64-bit integer in both backends)."""

MAX_ARGS_BYTES = 1024 * 1024
"""A run's arguments, encoded as JSON (UTF-8), at most this many bytes."""

MAX_RESULT_BYTES = 1024 * 1024
"""A job's result, encoded as JSON, at most this many bytes; a larger one fails the attempt."""

MAX_JSON_DEPTH = 64
"""Arguments and results nest at most this many levels of objects and lists."""

MAX_BODY_BYTES = MAX_ARGS_BYTES + 64 * 1024
"""A REST request body: the arguments at their limit plus room for the launch options."""

MAX_AHEAD_SECONDS = 10 * 365 * 86400
"""A run may be scheduled at most this far ahead, by ``delay`` or by ``run_at``."""

MAX_AGE_SECONDS = 100 * 365 * 86400
"""The longest age a command may name (``runs purge --older-than``): older than any run."""

MAX_PAGE = 1000
"""The most items one list call returns (CLI ``--limit``, REST ``limit``, Python ``limit=``)."""

MAX_NAME = 200
"""Queue and schedule names, in characters."""

MAX_KEY = 1000
"""Job names and unique keys, in characters."""

MAX_SEARCH = 500
"""A search over runs' arguments (``runs list --search``), in characters."""

SEARCH_SCOPE = 20_000
"""A search over runs' arguments reads at most this many run ids at a time: the newest ones,
or those just below the page's cursor. No index serves such a search, so this bounds what one
request reads whatever the table holds; the next page's cursor carries on below them."""

MAX_WINDOW_MINUTES = 24 * 60
"""The runs summary's window of runs ended per minute (a bucket a minute), at most this long."""

MAX_ERROR_MESSAGE = 10_000
"""An error entry's message, in characters (its traceback keeps its last 20,000)."""

MAX_TRACEBACK = 20_000
"""An error entry's traceback, in characters: its last ones, where the error was raised."""

MAX_LIMIT = 100_000
"""A flow-control limit (``concurrency=N``, a rate's N): the rate log keeps up to N starts per
scope, so N stays a count of runs, never a figure of bytes."""

MAX_RATE_PERIOD = 31 * 86400
"""A rate limit's window, in seconds: its starts are kept that long."""

MAX_ECHO = 120
"""How much of a bad value an error message quotes back."""


def quote(value: object) -> str:
    """``repr(value)`` for an error message, cut to MAX_ECHO characters with its full length.

    A 100,000-character bad value must not come back whole in an error line or response.
    """
    if isinstance(value, str) and len(value) > MAX_ECHO:
        return f"{value[:MAX_ECHO]!r}... ({len(value)} characters)"
    try:
        text = repr(value)
    except Exception:  # a value whose repr fails is still named by its type
        return f"<{type(value).__name__}>"
    if len(text) > MAX_ECHO:
        return f"{text[:MAX_ECHO]}... ({len(text)} characters)"
    return text
