"""Whatever a job raised or returned, made into something every backend can store.

A job's exception may carry text no database takes (a lone surrogate from ``os.listdir`` of a
non-UTF-8 file name, a NUL character that PostgreSQL refuses), a ``__str__`` that raises, or a
huge message; its result may not be JSON at all. None of that may reach the store: the error
entry is made storable (and says so), and a result that cannot be stored fails the attempt.
"""

from __future__ import annotations

import json
import re
import traceback
from datetime import datetime
from typing import Any

from rota.limits import MAX_ERROR_MESSAGE, MAX_JSON_DEPTH, MAX_RESULT_BYTES, MAX_TRACEBACK
from rota.runs import ErrorEntry

"""Arrays and objects nest at most this deep in a result (as in a REST request body)."""

ESCAPED_NOTE = " [rota: characters that cannot be stored were escaped]"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")  # a real \u0000 escape in JSON text


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return "\\x00" if code == 0 else f"\\u{code:04x}"


def storable_text(text: str) -> tuple[str, bool]:
    """``text`` with NUL and surrogate characters written as visible backslash escapes."""
    escaped = _UNSTORABLE.sub(_escape, text)
    return escaped, escaped != text


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` characters: the start of ``text``, then how much was cut."""
    if len(text) <= limit:
        return text
    keep = max(0, limit - 40)  # room for the tail, whatever the count's digits
    return f"{text[:keep]}... [{len(text) - keep} characters cut]"


def describe(exc: BaseException) -> str:
    """The exception's message, never raising: its str(), else a stand-in naming the failure."""
    try:
        return str(exc) or type(exc).__name__
    except BaseException as failed:  # the job's own code: it may raise anything
        return f"<{type(exc).__name__}: str() raised {type(failed).__name__}>"


class ChildFailure(Exception):
    """A job's exception in the child process of ``executor="process"``, rebuilt from its text
    (never unpickled): its entry shows the child's type name and traceback."""

    traceback_text = ""


def _traceback(exc: BaseException) -> str:
    if isinstance(exc, ChildFailure) and exc.traceback_text:
        return exc.traceback_text[-MAX_TRACEBACK:]
    try:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except BaseException as failed:  # a hostile __cause__, __notes__ or __str__
        text = f"<traceback unavailable: formatting it raised {type(failed).__name__}>"
    return text[-MAX_TRACEBACK:]


def error_entry(attempt: int, exc: BaseException, now: datetime, note: str = "") -> ErrorEntry:
    """The ``errors`` entry of a failed attempt: storable text, message capped, altered marked.

    ``note`` is added to the message (rota's own words about what happened after the error).
    """
    kind, kind_altered = storable_text(type(exc).__name__)
    message, message_altered = storable_text(describe(exc) + (f" [{note}]" if note else ""))
    tb, tb_altered = storable_text(_traceback(exc))
    mark = ESCAPED_NOTE if kind_altered or message_altered or tb_altered else ""
    return ErrorEntry(
        attempt=attempt,
        type=kind,
        message=_cut(message, MAX_ERROR_MESSAGE - len(mark)) + mark,
        traceback=tb[-MAX_TRACEBACK:],
        at=now,
    )


def _too_deep(value: Any) -> bool:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            if depth >= MAX_JSON_DEPTH:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _problem(value: Any) -> tuple[type[Exception], str] | None:
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except RecursionError:
        return ValueError, f"it nests deeper than {MAX_JSON_DEPTH} levels"
    except ValueError as exc:  # NaN, infinity, a circular reference
        return ValueError, f"not JSON ({describe(exc)})"
    except BaseException as exc:  # not a JSON type, or a hostile subclass of one
        return TypeError, f"not JSON ({describe(exc)})"
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return ValueError, "a string in it contains a lone surrogate (text that is not Unicode)"
    if size > MAX_RESULT_BYTES:
        return ValueError, f"{size} bytes as JSON, more than the {MAX_RESULT_BYTES} allowed"
    if _ESCAPED_NUL.search(text):
        return ValueError, "a string in it contains a NUL character"
    # only a text with that many brackets can nest that deep: skip the walk for the rest
    if text.count("[") + text.count("{") >= MAX_JSON_DEPTH and _too_deep(value):
        return ValueError, f"it nests deeper than {MAX_JSON_DEPTH} levels"
    return None


def check_result(value: Any) -> Exception | None:
    """None if every backend can store ``value`` as JSON; else the error to fail the attempt."""
    problem = _problem(value)
    if problem is None:
        return None
    kind, reason = problem
    reason = _cut(storable_text(reason)[0], 500)
    return kind(f"the job returned a value that cannot be stored: {reason}")
