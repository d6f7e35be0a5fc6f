"""Runs: list (newest first, cursor pages), show, retry, cancel, delete."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import StringConstraints
from starlette.convertors import StringConvertor, register_url_convertor

import rota.web.actions as actions
from rota.limits import MAX_ID, MAX_PAGE, MAX_SEARCH, SEARCH_SCOPE
from rota.runs import Run, RunState
from rota.web.deps import NO_NUL, AppDep, RoleDep, reject_unknown_query
from rota.web.errors import ApiError, responses
from rota.web.models import BulkRetryBody, Retried, RunOut, RunPage

router = APIRouter(prefix="/api", tags=["runs"], dependencies=[Depends(reject_unknown_query)])

_STATE = "|".join(s.value for s in RunState)
StateList = Annotated[str, StringConstraints(pattern=rf"^({_STATE})(,({_STATE}))*$")]
RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="the run's id")]


class _RunIdSegment(StringConvertor):
    """A run's path segment: anything but ``retry``, which names the bulk retry resource.

    Without it ``/api/runs/{run_id}`` would match ``/api/runs/retry`` too (then refused as
    not an id), and that path would claim GET and DELETE beside its POST. A segment that is
    not a whole number still reaches the route, to be refused there with a 422.
    """

    regex = "(?!retry$)[^/]+"


register_url_convertor("rota_run_id", _RunIdSegment())


def _states(values: list[str] | None) -> list[RunState]:
    return [RunState(v) for value in values or [] for v in value.split(",")]


_RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
_DATE_TIME: dict[str, Any] = {
    "pattern": _RFC3339,
    "json_schema_extra": {"format": "date-time"},
}


def _date_time(name: str, value: str | None) -> datetime | None:
    """An RFC 3339 time with its offset; a number or a naive time is refused (422)."""
    if value is None:
        return None
    text = value[:-1] + "+00:00" if value[-1] in "Zz" else value
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(422, "validation_error", f"{name}: not a valid date-time") from None


def page_cursor(last_id: int) -> str:
    """The cursor after ``last_id``: opaque to clients (today the id as a string)."""
    return str(last_id)


def cursor_id(cursor: str | None) -> int | None:
    """The id a cursor continues after; one past the last id is an empty page, not an error."""
    return None if cursor is None else min(int(cursor), MAX_ID)


class _Listed(Protocol):
    @property
    def id(self) -> int: ...

    def to_json(self) -> dict[str, Any]: ...


T = TypeVar("T", bound=_Listed)

PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size")]
Cursor = Annotated[
    str | None, Query(pattern=r"^[1-9][0-9]{0,18}$", description="next_cursor of the previous page")
]


def page(
    fetch: Callable[[int, int | None], Sequence[T]], limit: int, cursor: str | None
) -> dict[str, Any]:
    """One page of ``limit`` items after ``cursor`` and the cursor of the next one (or null).

    One more item than the page tells whether there is a next page; at the largest page size
    that would pass the limit every launcher shares, so a second look (one item) tells.
    """
    before = cursor_id(cursor)
    if limit < MAX_PAGE:
        found = fetch(limit + 1, before)
        more = len(found) > limit
    else:
        found = fetch(limit, before)
        more = len(found) == limit and bool(fetch(1, found[-1].id))
    items = found[:limit]
    return {
        "items": [item.to_json() for item in items],
        "next_cursor": page_cursor(items[-1].id) if more else None,
    }


@router.get("/runs", response_model=RunPage, responses=responses())
def list_runs(
    app: AppDep,
    state: Annotated[
        list[StateList] | None,
        Query(description="filter by state: repeat it, or give a comma-separated list"),
    ] = None,
    job: Annotated[str | None, Query(min_length=1, max_length=1000, pattern=NO_NUL)] = None,
    queue: Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL)] = None,
    limit: PageSize = 50,
    cursor: Cursor = None,
    created_after: Annotated[
        str | None, Query(description="only runs created at or after", **_DATE_TIME)
    ] = None,
    created_before: Annotated[
        str | None, Query(description="only runs created before", **_DATE_TIME)
    ] = None,
    search: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_SEARCH,
            pattern=NO_NUL,
            description=(
                "only runs whose arguments (as JSON text) contain this, ignoring case; one "
                f"page reads {SEARCH_SCOPE:,} run ids at most, below the cursor: a page may "
                "come back short, or empty, with a next_cursor that searches older runs"
            ),
        ),
    ] = None,
) -> dict[str, Any]:
    """Runs, newest first, one page at a time."""
    after = _date_time("created_after", created_after)
    before = _date_time("created_before", created_before)

    def fetch(limit: int, before_id: int | None) -> list[Run]:
        return app.runs.list(
            states=_states(state),
            job=job,
            queue=queue,
            limit=limit,
            before_id=before_id,
            created_after=after,
            created_before=before,
            search=search,
        )

    found = page(fetch, limit, cursor)
    if search is not None and found["next_cursor"] is None:
        # the search read its scope below the cursor: the older runs are the next page
        floor = app.runs.search_floor(cursor_id(cursor))
        found["next_cursor"] = None if floor is None else page_cursor(floor)
    return found


@router.get("/runs/{run_id:rota_run_id}", response_model=RunOut, responses=responses())
def get_run(run_id: RunId, app: AppDep) -> dict[str, Any]:
    """One run with its attempts, errors (tracebacks), result and progress."""
    return app.runs.get(run_id).to_json()


@router.post("/runs/retry", response_model=Retried, responses=responses())
def retry_runs(body: BulkRetryBody, app: AppDep, role: RoleDep) -> dict[str, int]:
    """Put every failed (or cancelled) run, of ``job``, in ``queue``, back to ``queued``."""
    return {"retried": actions.retry_where(app, role, RunState(body.state), body.job, body.queue)}


@router.post("/runs/{run_id}/retry", response_model=RunOut, responses=responses(409))
def retry_run(run_id: RunId, app: AppDep, role: RoleDep) -> dict[str, Any]:
    """Put a failed or cancelled run back to ``queued``, with a fresh budget of attempts."""
    return actions.retry_run(app, role, run_id).to_json()


@router.post("/runs/{run_id}/cancel", response_model=RunOut, responses=responses(409))
def cancel_run(run_id: RunId, app: AppDep, role: RoleDep) -> dict[str, Any]:
    """Cancel a waiting run at once; ask a running one to stop (it ends ``cancelled``)."""
    return actions.cancel_run(app, role, run_id).to_json()


@router.delete(
    "/runs/{run_id:rota_run_id}",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "deleted"}, **responses(409)},
)
def delete_run(run_id: RunId, app: AppDep, role: RoleDep) -> Response:
    """Delete a run that has ended (succeeded, failed or cancelled)."""
    actions.delete_run(app, role, run_id)
    return Response(status_code=204)
