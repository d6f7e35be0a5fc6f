"""Option types and input translation: durations, times, ``--arg k=v`` and ``--args-json``."""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from rota.cli.errors import CliError
from rota.jobs import JobSpec

if TYPE_CHECKING:  # click 8.4 made ParamType generic; older clicks cannot subscript it
    _DurationBase = click.ParamType[timedelta]
    _DateTimeBase = click.ParamType[datetime]
else:
    _DurationBase = _DateTimeBase = click.ParamType

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([smhdw]?)", re.IGNORECASE)


def parse_duration(text: str) -> timedelta:
    """``"90"``, ``"1.5"``, ``"30s"``, ``"5m"``, ``"2h"``, ``"7d"``, ``"1w"`` or ``"1h30m"``."""
    raw = text.strip()
    pos, seconds = 0, 0.0
    for m in _DURATION.finditer(raw):
        if m.start() != pos:
            break
        seconds += float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()]
        pos = m.end()
    if not raw or pos != len(raw):
        raise ValueError(f"{text!r} is not a duration (examples: 30, 30s, 5m, 2h, 7d, 1h30m)")
    return timedelta(seconds=seconds)


class Duration(_DurationBase):
    """Seconds, or a number with a unit: s, m, h, d, w."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class IsoDateTime(_DateTimeBase):
    """An ISO 8601 date-time; without an offset it is UTC, like everywhere in rota."""

    name = "iso-datetime"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            at = datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO 8601 date-time (example: 2030-01-31T09:30:00+01:00)",
                param,
                ctx,
            )
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN/Infinity are not JSON: keep such input as a string


def _is_str_annotation(ann: Any) -> bool:
    if ann is str:
        return True
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(ann) if a is not type(None)]
        return bool(members) and all(a is str for a in members)
    return False


def parse_arg_value(text: str, annotation: Any) -> Any:
    """``str`` parameters take the text as is; others take it as JSON when it parses."""
    if _is_str_annotation(annotation):
        return text
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return text


def _args_json(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    if text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise CliError(f"--args-json: cannot read {text[1:]!r}: {exc.strerror}") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise CliError(f"--args-json is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise CliError("--args-json must be a JSON object of name: value")
    return value


def build_args(spec: JobSpec | None, pairs: Sequence[str], args_json: str | None) -> dict[str, Any]:
    """The launch arguments: ``--args-json`` first, each ``--arg k=v`` merged over it."""
    args = _args_json(args_json)
    annotations: Mapping[str, Any] = {p.name: p.annotation for p in spec.params} if spec else {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise CliError(f"--arg expects NAME=VALUE, got {pair!r}")
        args[name] = parse_arg_value(text, annotations.get(name, Any))
    return args
