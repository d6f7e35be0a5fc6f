"""What a job parameter's annotation means for its JSON argument: check, convert, describe.

Arguments are stored as JSON. The types JSON has (bool, int, float, str, lists, objects) are
checked as they are. A few common types JSON lacks travel in their usual text form and are
turned back into objects when the job is called: ``datetime``, ``date`` and ``time`` (ISO
8601), ``UUID``, ``Decimal`` (a string, or an int), an ``Enum`` (by value), and dataclasses
and TypedDicts (an object of their fields), also inside Optional, list and dict. Any other
class cannot travel as JSON, so a job that takes one is refused when it is defined.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import types
import typing
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from rota.limits import quote

_UNION = (typing.Union, types.UnionType)
_LISTS: tuple[Any, ...] = (list, tuple, Sequence, Collection, Iterable)
_DICTS: tuple[Any, ...] = (dict, Mapping)
_JSON_SCALARS = (str, int, float, bool, type(None))
_USE = (
    "use str, int, float, bool, list, dict, a dataclass or TypedDict, "
    "datetime, date, time, UUID, Decimal or an Enum"
)


def _decimal(text: str) -> Decimal:
    value = Decimal(text)
    if not value.is_finite():
        raise ValueError("not a finite number")
    return value


@dataclass(frozen=True, slots=True)
class _Textual:
    """A type that travels as text: its name for users, its parser, an example."""

    label: str
    parse: Callable[[str], Any]
    example: str


_TEXTUAL: dict[type, _Textual] = {
    datetime: _Textual("datetime (ISO 8601)", datetime.fromisoformat, "2030-01-31T09:30:00+00:00"),
    date: _Textual("date (ISO 8601)", date.fromisoformat, "2030-01-31"),
    time: _Textual("time (ISO 8601)", time.fromisoformat, "09:30:00"),
    UUID: _Textual("UUID", UUID, "12345678-1234-5678-1234-567812345678"),
    Decimal: _Textual("Decimal (string)", _decimal, "12.50"),
}


def _is_unchecked(ann: Any) -> bool:
    """No annotation, Any, object, or one rota cannot read (a forward ref, not a type)."""
    if ann is inspect.Parameter.empty or ann is Any or ann is object or isinstance(ann, str):
        return True
    try:
        hash(ann)
    except TypeError:
        return True
    return False


def _fields(ann: Any) -> tuple[dict[str, Any], frozenset[str]] | None:
    """A dataclass's or TypedDict's field types and required names; None for other types.

    Cached per annotation (reading type hints is slow, and launches check every argument);
    callers must not change what it returns.
    """
    try:
        return _cached_fields(ann)
    except TypeError:  # an unhashable annotation
        return _read_fields(ann)


def _read_fields(ann: Any) -> tuple[dict[str, Any], frozenset[str]] | None:
    if isinstance(ann, type) and dataclasses.is_dataclass(ann):
        hints = _hints(ann)
        init = [f for f in dataclasses.fields(ann) if f.init]
        required = frozenset(
            f.name
            for f in init
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        )
        return {f.name: hints.get(f.name, Any) for f in init}, required
    if typing.is_typeddict(ann):
        return _hints(ann), frozenset(getattr(ann, "__required_keys__", ()))
    return None


_cached_fields = functools.lru_cache(maxsize=1024)(_read_fields)


def _hints(ann: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(ann)
    except Exception:  # unresolved forward refs: unchecked
        return {}


def _enum_values(ann: type[enum.Enum]) -> list[Any]:
    return [m.value for m in ann]


# -- describing ------------------------------------------------------------------------------


def type_name(ann: Any) -> str:
    """The annotation as users read it in ``rota jobs`` and ``GET /api/jobs``."""
    if _is_unchecked(ann):
        return "any"
    if ann is None or ann is type(None):
        return "None"
    if ann in _TEXTUAL:
        return _TEXTUAL[ann].label
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        values = ", ".join(quote(v) for v in _enum_values(ann)[:10])
        return f"{ann.__name__} (one of {values}{', ...' if len(ann) > 10 else ''})"
    if _fields(ann) is not None:
        return f"{ann.__name__} (object)"
    origin = typing.get_origin(ann)
    if origin in _UNION:
        return " | ".join(type_name(a) for a in typing.get_args(ann))
    if origin is typing.Literal:
        return "one of " + ", ".join(quote(v) for v in typing.get_args(ann))
    inner = typing.get_args(ann)
    if isinstance(origin, type) and inner:
        names = ["..." if a is Ellipsis else type_name(a) for a in inner]
        return f"{origin.__name__}[{', '.join(names)}]"
    if isinstance(ann, type):
        return ann.__name__
    return str(ann).replace("typing.", "")


def takes_text(ann: Any) -> bool:
    """Whether a CLI value for this parameter is taken as text as it is (``--arg k=v``):
    str, the types that travel as text, an Enum of strings, and Optionals of those."""
    if ann is str or ann in _TEXTUAL:
        return True
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return all(isinstance(v, str) for v in _enum_values(ann))
    if typing.get_origin(ann) in _UNION:
        members = [a for a in typing.get_args(ann) if a is not type(None)]
        return bool(members) and all(takes_text(a) for a in members)
    return False


# -- at definition: can it travel as JSON? ----------------------------------------------------


def unsupported(ann: Any, seen: frozenset[Any] = frozenset()) -> str | None:
    """Why arguments of this annotation cannot travel as JSON, else None."""
    if _is_unchecked(ann) or ann is None or ann in _JSON_SCALARS or ann in _TEXTUAL:
        return None
    if ann in seen:  # a recursive dataclass: checked where it started
        return None
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        bad = [v for v in _enum_values(ann) if not isinstance(v, _JSON_SCALARS)]
        return f"{ann.__name__} has values JSON cannot hold ({quote(bad[0])})" if bad else None
    fields = _fields(ann)
    if fields is not None:
        for name, hint in fields[0].items():
            problem = unsupported(hint, seen | {ann})
            if problem:
                return f"field {name!r}: {problem}"
        return None
    origin = typing.get_origin(ann)
    if origin is typing.Literal:
        bad = [v for v in typing.get_args(ann) if not isinstance(v, _JSON_SCALARS)]
        return f"Literal value {quote(bad[0])} is not a JSON value" if bad else None
    if origin in _UNION or origin in _LISTS or ann in _LISTS:
        args = [a for a in typing.get_args(ann) if a is not Ellipsis]
        return next((p for a in args if (p := unsupported(a, seen))), None)
    if origin in _DICTS or ann in _DICTS:
        pair = typing.get_args(ann)
        if pair and not (pair[0] is str or _is_unchecked(pair[0])):
            return f"{type_name(ann)}: JSON object keys are strings (use dict[str, ...])"
        return unsupported(pair[1], seen) if pair else None
    base = origin if origin is not None else ann
    if isinstance(base, type):
        hint = _HINTS.get(base, _USE)
        return f"{type_name(ann)} cannot be passed as JSON; {hint}"
    return None  # another typing construct (a TypeVar, NewType...): accepted unchecked


_HINTS: dict[type, str] = {
    bytes: "use str (base64 or hex text, for instance)",
    bytearray: "use str (base64 or hex text, for instance)",
    set: "use list",
    frozenset: "use list",
}


# -- at launch: Python objects to their JSON form ----------------------------------------------


def to_json(value: Any, ann: Any) -> Any:
    """``value`` with the objects the annotation names turned into their JSON form."""
    if _is_unchecked(ann):
        return value
    if ann in _TEXTUAL:
        if isinstance(value, ann) and not (ann is date and isinstance(value, datetime)):
            return str(value) if ann in (UUID, Decimal) else value.isoformat()
        return value
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return value.value if isinstance(value, ann) else value
    fields = _fields(ann)
    if fields is not None:
        if dataclasses.is_dataclass(ann) and isinstance(value, cast(type, ann)):
            value = {name: getattr(value, name) for name in fields[0]}
        if isinstance(value, dict):
            return {k: to_json(v, fields[0].get(k, Any)) for k, v in value.items()}
        return value
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin in _UNION:
        for member in args:
            converted = to_json(value, member)
            if check_type(converted, member) is None:
                return converted
        return value
    if origin in _LISTS and isinstance(value, list) and args:
        return [
            to_json(item, a) for item, a in zip(value, _item_types(ann, len(value)), strict=True)
        ]
    if origin in _DICTS and isinstance(value, dict) and len(args) == 2:
        return {k: to_json(v, args[1]) for k, v in value.items()}
    return value


def _item_types(ann: Any, count: int) -> list[Any]:
    """The annotation of each of ``count`` list items (a fixed tuple gives one per place)."""
    args = typing.get_args(ann)
    if typing.get_origin(ann) is tuple and args and args[-1] is not Ellipsis:
        return list(args[:count]) + [Any] * (count - len(args))
    return [args[0] if args else Any] * count


# -- at launch: does a JSON value fit? ----------------------------------------------------------


def jtype(value: Any) -> str:
    """The JSON name of a value's type (a Python name for what JSON has not)."""
    names = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _got(value: Any) -> str:
    return f"got {jtype(value)} {quote(value)}"


def check_type(value: Any, ann: Any) -> str | None:
    """None when ``value`` (a JSON value) fits the annotation, else what is wrong."""
    if _is_unchecked(ann):
        return None
    if ann is None or ann is type(None):
        return None if value is None else f"expected null, {_got(value)}"
    if ann in _TEXTUAL:
        return _check_textual(value, ann)
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        if any(type(v) is type(value) and v == value for v in _enum_values(ann)):
            return None
        return f"expected {type_name(ann)}, {_got(value)}"
    fields = _fields(ann)
    if fields is not None:
        return _check_fields(value, ann, *fields)
    origin = typing.get_origin(ann)
    if origin in _UNION:
        if any(check_type(value, a) is None for a in typing.get_args(ann)):
            return None
        return f"expected {type_name(ann)}, {_got(value)}"
    if origin is typing.Literal:
        if any(type(v) is type(value) and v == value for v in typing.get_args(ann)):
            return None
        return f"expected {type_name(ann)}, {_got(value)}"
    if ann in _LISTS or origin in _LISTS:
        return _check_list(value, ann)
    if ann in _DICTS or origin in _DICTS:
        return _check_dict(value, ann)
    if ann in (bool, int, float, str):
        return None if _scalar_fits(value, ann) else f"expected {ann.__name__}, {_got(value)}"
    return None  # a construct rota does not check (a TypeVar, NewType...): accepted as given


def _scalar_fits(value: Any, ann: type) -> bool:
    if ann is bool or ann is str:
        return isinstance(value, ann)
    if isinstance(value, bool):
        return False
    if ann is int:
        return isinstance(value, int)
    return isinstance(value, int | float) and value - value == 0  # finite


def _check_textual(value: Any, ann: type) -> str | None:
    textual = _TEXTUAL[ann]
    if ann is Decimal and isinstance(value, int) and not isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            textual.parse(value)
        except (ValueError, ArithmeticError):
            pass
        else:
            return None
    return f"expected {textual.label}, e.g. {textual.example!r}, {_got(value)}"


def _check_list(value: Any, ann: Any) -> str | None:
    if not isinstance(value, list):
        return f"expected a list, got {jtype(value)}"
    args = typing.get_args(ann)
    if typing.get_origin(ann) is tuple and args and args[-1] is not Ellipsis:
        if len(value) != len(args):
            return f"expected a list of {len(args)} items, got {len(value)}"
    elif not args:
        return None
    for i, (item, item_ann) in enumerate(zip(value, _item_types(ann, len(value)), strict=True)):
        problem = check_type(item, item_ann)
        if problem:
            return f"item {i}: {problem}"
    return None


def _check_dict(value: Any, ann: Any) -> str | None:
    if not isinstance(value, dict):
        return f"expected an object, got {jtype(value)}"
    args = typing.get_args(ann)
    if len(args) == 2:
        for k, v in value.items():
            problem = check_type(v, args[1])
            if problem:
                return f"key {quote(k)}: {problem}"
    return None


def _check_fields(
    value: Any, ann: Any, hints: Mapping[str, Any], required: frozenset[str]
) -> str | None:
    name = type_name(ann)
    if not isinstance(value, dict):
        return f"expected {name}, got {jtype(value)}"
    unknown = [k for k in value if k not in hints]
    if unknown:
        return f"{name}: unknown field {quote(unknown[0])}; it has: {', '.join(hints)}"
    missing = sorted(required - set(value))
    if missing:
        return f"{name}: missing field(s) {', '.join(missing)}"
    for k, v in value.items():
        problem = check_type(v, hints[k])
        if problem:
            return f"field {k!r}: {problem}"
    return None


# -- at call time: JSON values to the objects the job asked for ---------------------------------


def needs_conversion(ann: Any, seen: frozenset[Any] = frozenset()) -> bool:
    """Whether a JSON value of this annotation becomes another object for the job."""
    if _is_unchecked(ann) or ann in seen:
        return False
    if ann in _TEXTUAL or (isinstance(ann, type) and issubclass(ann, enum.Enum)):
        return True
    if _fields(ann) is not None:
        return True
    return any(needs_conversion(a, seen | {ann}) for a in typing.get_args(ann) if a is not ...)


def from_json(value: Any, ann: Any) -> Any:
    """The object the job receives for a JSON value that fits ``ann`` (checked at launch)."""
    if _is_unchecked(ann) or value is None:
        return value
    if ann in _TEXTUAL:
        return _TEXTUAL[ann].parse(value) if isinstance(value, str) else Decimal(value)
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return ann(value)
    fields = _fields(ann)
    if fields is not None:
        converted = {k: from_json(v, fields[0][k]) for k, v in value.items()}
        return cast(Any, ann)(**converted) if dataclasses.is_dataclass(ann) else converted
    origin = typing.get_origin(ann)
    if origin in _UNION:
        member = next(a for a in typing.get_args(ann) if check_type(value, a) is None)
        return from_json(value, member)
    if origin in _LISTS and isinstance(value, list):
        return [
            from_json(item, a) for item, a in zip(value, _item_types(ann, len(value)), strict=True)
        ]
    if origin in _DICTS and isinstance(value, dict) and len(typing.get_args(ann)) == 2:
        inner = typing.get_args(ann)[1]
        return {k: from_json(v, inner) for k, v in value.items()}
    return value
