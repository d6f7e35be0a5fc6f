"""The checks every use case applies to operator input, against the one set of limits."""

from __future__ import annotations

from datetime import timedelta

from rota.errors import InvalidInput
from rota.jobs import text_problem
from rota.limits import MAX_AGE_SECONDS, MAX_ID, MAX_PAGE, MAX_SEARCH, MAX_WINDOW_MINUTES, quote


def check_id(value: object, what: str = "run id") -> int:
    """An id as the databases hold it (1 to MAX_ID); anything else is refused, not looked up."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidInput(f"{what} must be a whole number from 1 to {MAX_ID}, got {quote(value)}")
    return value


def check_page(limit: object) -> int:
    """A list call's page size: 1 to MAX_PAGE, the same for every launcher."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_PAGE}, got {quote(limit)}")
    return limit


def check_age(value: object) -> timedelta:
    """An age (``older_than``): a timedelta or seconds, from 0 to MAX_AGE_SECONDS."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise InvalidInput(f"older_than must be seconds or a timedelta, got {quote(value)}")
    if not 0 <= seconds <= MAX_AGE_SECONDS:  # NaN fails too
        raise InvalidInput(
            f"older_than must be from 0 to {MAX_AGE_SECONDS} seconds (100 years), got {seconds:g}"
        )
    return timedelta(seconds=seconds)


def check_search(text: object) -> str:
    """A search over arguments: text of at most MAX_SEARCH characters, storable as it is."""
    if not isinstance(text, str):
        raise InvalidInput(f"search must be text, got {quote(text)}")
    if len(text) > MAX_SEARCH:
        raise InvalidInput(f"search must be at most {MAX_SEARCH} characters, got {len(text)}")
    problem = text_problem(text)
    if problem:
        raise InvalidInput(f"search: {problem}")
    return text


def check_window(window: object) -> timedelta:
    """A summary's window: a timedelta of whole minutes, 1 to MAX_WINDOW_MINUTES of them."""
    if not isinstance(window, timedelta):
        raise InvalidInput(f"window must be a timedelta, got {quote(window)}")
    if window % timedelta(minutes=1) or not 1 <= window // timedelta(minutes=1) <= (
        MAX_WINDOW_MINUTES
    ):
        raise InvalidInput(
            f"window must be whole minutes, from 1 to {MAX_WINDOW_MINUTES}, got {window}"
        )
    return window
