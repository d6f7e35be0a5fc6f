"""Argument validation at launch: signature and type hints, JSON values only."""

from __future__ import annotations

import math
from typing import Any, Literal, Optional

import pytest

from rota.context import Context
from rota.errors import InvalidArguments
from rota.jobs import JobOptions, JobSpec, check_type, validate_args


def spec_of(func: Any) -> JobSpec:
    return JobSpec.from_function(func, func.__name__, JobOptions())


def send_receipt(
    order_id: int, email: str, urgent: bool = False, ctx: Context | None = None
) -> None:
    """Not called: only its signature matters."""


def typed(
    ratio: float,
    ids: list[int],
    counts: dict[str, int],
    mode: Literal["fast", "safe"],
    maybe: Optional[int] = None,  # noqa: UP045 - the old spelling must work too
    either: int | str = 0,
    anything: Any = None,
    untyped=None,  # type: ignore[no-untyped-def]
) -> None:
    pass


def with_context(n: int, ctx: Context) -> None:
    pass


GOOD = {"ratio": 0.5, "ids": [1, 2], "counts": {"a": 1}, "mode": "fast"}


def test_valid_arguments_come_back_as_a_plain_dict() -> None:
    spec = spec_of(send_receipt)
    got = spec.validate({"order_id": 1, "email": "a@b.c"})
    assert got == {"order_id": 1, "email": "a@b.c"}
    assert type(got) is dict
    assert spec_of(typed).validate(GOOD) == GOOD


def test_unknown_argument_is_refused_and_named() -> None:
    with pytest.raises(InvalidArguments, match=r"unknown argument\(s\) colour.*order_id, email"):
        spec_of(send_receipt).validate({"order_id": 1, "email": "x", "colour": "red"})


def test_missing_argument_is_refused_and_named() -> None:
    with pytest.raises(InvalidArguments, match=r"missing argument\(s\) email"):
        spec_of(send_receipt).validate({"order_id": 1})


def test_defaults_make_arguments_optional() -> None:
    assert spec_of(send_receipt).validate({"order_id": 1, "email": "x", "urgent": True})
    assert spec_of(typed).validate(GOOD | {"maybe": None, "either": "x", "untyped": [1]})


def test_context_parameter_is_not_an_argument() -> None:
    spec = spec_of(with_context)
    assert spec.context_param == "ctx"
    assert [p.name for p in spec.params] == ["n"]
    with pytest.raises(InvalidArguments, match="unknown"):
        spec.validate({"n": 1, "ctx": {}})


def test_optional_context_parameter_is_the_context_too() -> None:
    def job(n: int, ctx: Optional[Context] = None) -> None:  # noqa: UP045
        pass

    assert spec_of(send_receipt).context_param == "ctx"  # ctx: Context | None = None
    assert spec_of(job).context_param == "ctx"
    assert [p.name for p in spec_of(job).params] == ["n"]


def test_arguments_must_be_an_object() -> None:
    with pytest.raises(InvalidArguments, match="JSON object"):
        validate_args("job", spec_of(send_receipt).params, [1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"order_id": "1", "email": "x"}, "'order_id': expected int, got str"),
        ({"order_id": 1.0, "email": "x"}, "expected int, got float"),
        ({"order_id": True, "email": "x"}, "expected int, got bool"),  # bool is not int
        ({"order_id": None, "email": "x"}, "expected int, got null"),
        ({"order_id": 1, "email": 5}, "'email': expected str, got int"),
        ({"order_id": 1, "email": "x", "urgent": 1}, "expected bool, got int"),
    ],
)
def test_mistyped_argument_is_refused(args: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArguments, match=message) as info:
        spec_of(send_receipt).validate(args)
    assert "send_receipt" in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ratio", True),
        ("ratio", "0.5"),
        ("ratio", math.inf),
        ("ids", [1, "2"]),
        ("ids", [1, True]),
        ("ids", "12"),
        ("ids", {"0": 1}),
        ("counts", {"a": "1"}),
        ("counts", {"a": 1.5}),
        ("counts", [["a", 1]]),
        ("mode", "slow"),
        ("mode", None),
        ("maybe", "1"),
        ("maybe", 1.5),
        ("either", 1.5),
        ("either", None),
    ],
)
def test_containers_literals_and_unions_are_checked(field: str, value: Any) -> None:
    with pytest.raises(InvalidArguments, match=f"argument '{field}'"):
        spec_of(typed).validate(GOOD | {field: value})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ratio", 3),  # an int is a fine float
        ("ids", []),
        ("counts", {}),
        ("mode", "safe"),
        ("maybe", None),
        ("maybe", 7),
        ("either", "x"),
        ("either", -1),
        ("anything", {"deep": [1, {"x": None}]}),
    ],
)
def test_fitting_values_are_accepted(field: str, value: Any) -> None:
    assert spec_of(typed).validate(GOOD | {field: value})[field] == value


@pytest.mark.parametrize(
    "value",
    [
        {1, 2},
        math.nan,
        math.inf,
        -math.inf,
        b"bytes",
        object(),
        [1, {2, 3}],
        {"when": __import__("datetime").date(2030, 1, 1)},
        [math.nan],
    ],
    # repr, but an object()'s repr holds its address: each xdist process must see the same ids
    ids=lambda v: "object()" if type(v) is object else repr(v),
)
def test_non_json_values_are_refused_even_untyped(value: Any) -> None:
    with pytest.raises(InvalidArguments, match="not a JSON value"):
        spec_of(typed).validate(GOOD | {"untyped": value})
    with pytest.raises(InvalidArguments):
        spec_of(typed).validate(GOOD | {"anything": value})


def test_nan_is_refused_for_float() -> None:
    with pytest.raises(InvalidArguments, match="ratio"):
        spec_of(typed).validate(GOOD | {"ratio": math.nan})


def test_check_type_directly() -> None:
    assert check_type(1, int) is None
    assert check_type(True, int) == "expected int, got bool True"
    assert check_type(True, bool) is None
    assert check_type(None, Optional[str]) is None  # noqa: UP045
    assert check_type(None, str | None) is None
    assert check_type([1, [2]], list[int]) is not None
    assert check_type([[1], [2]], list[list[int]]) is None
    assert check_type({"a": [1]}, dict[str, list[int]]) is None
    assert check_type({"a": ["x"]}, dict[str, list[int]]) is not None
    assert check_type([1, "a"], tuple[int, str]) is None
    assert check_type([1], tuple[int, str]) is not None
    assert check_type(3, Literal[1, 2, 3]) is None
    assert check_type("anything", Any) is None


def test_jobs_that_cannot_take_keyword_arguments_are_refused_at_definition() -> None:
    def star(*args: int) -> None:
        pass

    def kwargs_only(**kwargs: int) -> None:
        pass

    for func in (star, kwargs_only):
        with pytest.raises(TypeError, match="passable by keyword"):
            spec_of(func)


def test_describe_lists_parameters() -> None:
    described = spec_of(send_receipt).describe()
    assert described["name"] == "send_receipt"
    assert described["params"] == [
        {"name": "order_id", "type": "int", "required": True},
        {"name": "email", "type": "str", "required": True},
        {"name": "urgent", "type": "bool", "required": False, "default": False},
    ]


def test_huge_bad_values_and_names_are_quoted_short() -> None:
    huge = "x" * 100_000
    for args in (
        {"order_id": huge, "email": "e"},
        {"order_id": 1, "email": "e", huge: 1},
        {"order_id": 1, "email": "e", **{f"{n}{huge}": 1 for n in range(50)}},
    ):
        with pytest.raises(InvalidArguments) as info:
            spec_of(send_receipt).validate(args)
        message = str(info.value)
        assert len(message) < 2000, message[:300]
        assert "characters)" in message
    with pytest.raises(InvalidArguments, match=r"\(and 40 more\)"):
        spec_of(send_receipt).validate({f"{n}{huge}": 1 for n in range(50)})
