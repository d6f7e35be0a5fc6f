"""Parameter types JSON lacks: checked at launch, stored as JSON, objects again for the job."""

from __future__ import annotations

import dataclasses
import enum
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Optional, TypedDict
from uuid import UUID

import pytest

from rota.errors import Discard, InvalidArguments
from rota.jobs import JobOptions, JobSpec

WHEN = datetime(2027, 1, 1, 10, 0, tzinfo=UTC)
ID = UUID("12345678-1234-5678-1234-567812345678")


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Window:
    start: datetime
    days: int = 1


class Point(TypedDict):
    x: int
    at: date


def rich(
    when: datetime,
    day: date,
    at: time,
    key: UUID,
    amount: Decimal,
    color: Color,
    level: Level = Level.LOW,
    maybe: Optional[datetime] = None,  # noqa: UP045 - the old spelling must work too
    days: list[date] | None = None,
    prices: dict[str, Decimal] | None = None,
    window: Window | None = None,
    point: Point | None = None,
) -> None:
    """Not called: only its signature matters."""


SPEC = JobSpec.from_function(rich, "rich", JobOptions())
TEXT = {
    "when": "2027-01-01T10:00:00+00:00",
    "day": "2027-01-02",
    "at": "09:30:00",
    "key": str(ID),
    "amount": "12.50",
    "color": "red",
}
OBJECTS = {
    "when": WHEN,
    "day": date(2027, 1, 2),
    "at": time(9, 30),
    "key": ID,
    "amount": Decimal("12.50"),
    "color": Color.RED,
}


def test_python_objects_are_stored_as_their_json_form() -> None:
    stored = SPEC.validate(OBJECTS | {"level": Level.HIGH})
    assert stored == TEXT | {"level": 2}


def test_the_json_form_comes_back_as_the_objects() -> None:
    called = SPEC.call_args(SPEC.validate(TEXT))
    assert called == OBJECTS
    assert [type(called[k]) for k in OBJECTS] == [type(v) for v in OBJECTS.values()]


def test_objects_inside_optional_list_dict_dataclass_and_typeddict() -> None:
    given = OBJECTS | {
        "maybe": WHEN,
        "days": [date(2027, 1, 1), date(2027, 1, 3)],
        "prices": {"a": Decimal("0.10")},
        "window": Window(WHEN, 3),
        "point": {"x": 1, "at": date(2027, 1, 1)},
    }
    stored = SPEC.validate(given)
    assert stored["days"] == ["2027-01-01", "2027-01-03"]
    assert stored["prices"] == {"a": "0.10"}
    assert stored["window"] == {"start": WHEN.isoformat(), "days": 3}
    assert stored["point"] == {"x": 1, "at": "2027-01-01"}
    assert SPEC.call_args(stored) == given
    assert SPEC.call_args(SPEC.validate(TEXT | {"maybe": None}))["maybe"] is None


def test_decimal_takes_an_int_from_json_but_not_a_float() -> None:
    assert SPEC.call_args(SPEC.validate(TEXT | {"amount": 7}))["amount"] == Decimal(7)
    with pytest.raises(InvalidArguments, match="'amount': expected Decimal"):
        SPEC.validate(TEXT | {"amount": 0.1})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("when", "2027-13-01T10:00:00"),
        ("when", "tomorrow"),
        ("when", 1700000000),
        ("day", "2027-02-30"),
        ("day", "2027-01-01T10:00:00"),
        ("day", datetime(2027, 1, 1)),  # a datetime is not a date here
        ("at", "25:00"),
        ("key", "not-a-uuid"),
        ("amount", "12,50"),
        ("amount", "NaN"),
        ("amount", True),
        ("color", "blue"),
        ("color", Level.LOW),
        ("level", 3),
        ("level", True),
        ("days", ["2027-01-01", "x"]),
        ("prices", {"a": "cheap"}),
        ("window", {"days": 2}),
        ("window", {"start": "2027-01-01", "hours": 2}),
        ("point", {"x": "1", "at": "2027-01-01"}),
    ],
)
def test_bad_values_are_refused_at_launch_naming_the_parameter(name: str, value: Any) -> None:
    with pytest.raises(InvalidArguments, match=f"job 'rich': argument '{name}'"):
        SPEC.validate(TEXT | {name: value})


def test_a_stored_value_that_no_longer_fits_discards_the_run() -> None:
    with pytest.raises(Discard, match="'when'"):
        SPEC.call_args(TEXT | {"when": "not a time"})


def test_plain_jobs_are_called_with_their_arguments_as_stored() -> None:
    def plain(a: int, b: list[str]) -> None:
        pass

    spec = JobSpec.from_function(plain, "plain", JobOptions())
    args = {"a": 1, "b": ["x"]}
    assert spec.call_args(args) == args


class Opaque:
    pass


def takes_opaque(thing: Opaque) -> None:
    pass


def takes_bytes(data: bytes) -> None:
    pass


def takes_set(tags: set[str]) -> None:
    pass


def takes_int_keys(counts: dict[int, int]) -> None:
    pass


@dataclasses.dataclass
class Holder:
    inner: Opaque


def takes_holder(holder: Holder) -> None:
    pass


@pytest.mark.parametrize(
    ("func", "message"),
    [
        (takes_opaque, "parameter 'thing': Opaque cannot be passed as JSON; use str, int"),
        (takes_bytes, "parameter 'data': bytes cannot be passed as JSON; use str"),
        (takes_set, "parameter 'tags': set\\[str\\] cannot be passed as JSON; use list"),
        (takes_int_keys, "parameter 'counts': .*keys are strings"),
        (takes_holder, "parameter 'holder': field 'inner': Opaque cannot be passed"),
    ],
)
def test_types_json_cannot_carry_are_refused_at_definition(func: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        JobSpec.from_function(func, func.__name__, JobOptions())


def test_types_are_described_for_users() -> None:
    types = {p["name"]: p["type"] for p in SPEC.describe()["params"]}
    assert types["when"] == "datetime (ISO 8601)"
    assert types["day"] == "date (ISO 8601)"
    assert types["at"] == "time (ISO 8601)"
    assert types["key"] == "UUID"
    assert types["amount"] == "Decimal (string)"
    assert types["color"] == "Color (one of 'red', 'green')"
    assert types["maybe"] == "datetime (ISO 8601) | None"
    assert types["days"] == "list[date (ISO 8601)] | None"
    assert types["window"] == "Window (object) | None"
    defaults = {p["name"]: p.get("default") for p in SPEC.describe()["params"]}
    assert defaults["level"] == 1  # as a launcher gives it
