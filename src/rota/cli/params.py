"""Option types and input translation: durations, times, ids, ``--arg k=v``, ``--args-json``.

Every type here refuses out-of-range input as a usage error (exit 2) with the limits of
rota.limits, the same ones the REST API and the Python API enforce, and quotes at most
MAX_ECHO characters of a bad value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from rota.argtypes import takes_text
from rota.cli.errors import CliError
from rota.jobs import JobSpec
from rota.limits import MAX_AGE_SECONDS, MAX_AHEAD_SECONDS, MAX_ARGS_BYTES, MAX_ECHO, MAX_ID, quote

if TYPE_CHECKING:  # click 8.4 made ParamType generic; older clicks cannot subscript it
    _DurationBase = click.ParamType[timedelta]
    _DateTimeBase = click.ParamType[datetime]
    _IntBase = click.ParamType[int]
    _ChoiceBase = click.Choice[str]
else:
    _DurationBase = _DateTimeBase = _IntBase = click.ParamType
    _ChoiceBase = click.Choice

ARGS_FILE_BYTES = 16 * MAX_ARGS_BYTES
"""The most ``--args-json @file`` reads: its arguments' limit with room for indentation."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([smhdw]?)", re.IGNORECASE)


def parse_duration(text: str, most: float = MAX_AHEAD_SECONDS) -> timedelta:
    """``"90"``, ``"1.5"``, ``"30s"``, ``"5m"``, ``"2h"``, ``"7d"``, ``"1w"`` or ``"1h30m"``,
    at most ``most`` seconds."""
    raw = text.strip()
    pos, seconds = 0, 0.0
    for m in _DURATION.finditer(raw):
        if m.start() != pos:
            break
        seconds += float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()]
        pos = m.end()
    if not raw or pos != len(raw):
        raise ValueError(f"{quote(text)} is not a duration (examples: 30, 30s, 5m, 2h, 7d, 1h30m)")
    if seconds > most:  # also what float() made infinite
        raise ValueError(f"{quote(text)} is longer than {_days(most)}")
    return timedelta(seconds=seconds)


def _days(seconds: float) -> str:
    return f"{seconds / 86400:g} days ({seconds / (365 * 86400):g} years)"


class Duration(_DurationBase):
    """Seconds, or a number with a unit: s, m, h, d, w; at most ``most`` seconds."""

    name = "duration"

    def __init__(self, most: float = MAX_AHEAD_SECONDS) -> None:
        self.most = most

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value), self.most)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


AGE = Duration(MAX_AGE_SECONDS)
"""An age to look back (``--older-than``): older than any run can be is refused."""


class WholeNumber(_IntBase):
    """An integer from ``low`` to ``high`` (an id, a page size), written in plain digits."""

    name = "integer"

    def __init__(self, low: int, high: int, what: str = "a whole number") -> None:
        self.low, self.high, self.what = low, high, what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,30}\s*", value):
            number = int(value)
        else:
            number = None
        if number is None or not self.low <= number <= self.high:
            self.fail(
                f"{quote(value)} is not {self.what} from {self.low} to {self.high}", param, ctx
            )
        return number


ID = WholeNumber(1, MAX_ID, "an id: a whole number")
"""A run or batch execution id: the range both databases hold, as the REST API says too."""


class Choice(_ChoiceBase):
    """``click.Choice`` that quotes at most MAX_ECHO characters of a bad value."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and len(value) > MAX_ECHO:
            choices = ", ".join(str(c) for c in self.choices)
            self.fail(f"{quote(value)} is not one of {choices}", param, ctx)
        return super().convert(value, param, ctx)


class IdCommand(click.Command):
    """A command whose arguments are ids: ``-5`` is a bad id (exit 2), not an unknown option."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given = list(args)  # the parser consumes the list it is given
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption:
            negative = next((a for a in given if re.fullmatch(r"-\d+", a)), None)
            if negative is None:
                raise
            raise click.BadParameter(
                f"{quote(negative)} is not an id: a whole number from 1 to {MAX_ID}", ctx=ctx
            ) from None


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
                f"{quote(value)} is not an ISO 8601 date-time (example: 2030-01-31T09:30:00+01:00)",
                param,
                ctx,
            )
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN/Infinity are not JSON: keep such input as a string


def parse_arg_value(text: str, annotation: Any) -> Any:
    """``str`` parameters, and those whose values travel as text (a datetime, a UUID, a
    Decimal...), take the text as is; others take it as JSON when it parses."""
    if takes_text(annotation):
        return text
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return text


def _args_json(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    if text.startswith("@"):
        text = _read_args_file(text[1:])
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise CliError(f"--args-json is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise CliError("--args-json must be a JSON object of name: value")
    return value


def _read_args_file(path: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(ARGS_FILE_BYTES + 1)
    except OSError as exc:
        raise CliError(f"--args-json: cannot read {quote(path)}: {exc.strerror}") from None
    if len(data) > ARGS_FILE_BYTES:
        raise CliError(
            f"--args-json: {quote(path)} is larger than {ARGS_FILE_BYTES} bytes "
            f"(arguments are at most {MAX_ARGS_BYTES} bytes as JSON)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CliError(
            f"--args-json: {quote(path)} is not UTF-8 text (bad byte at offset {exc.start})"
        ) from None


def build_args(spec: JobSpec | None, pairs: Sequence[str], args_json: str | None) -> dict[str, Any]:
    """The launch arguments: ``--args-json`` first, each ``--arg k=v`` merged over it."""
    args = _args_json(args_json)
    annotations: Mapping[str, Any] = {p.name: p.annotation for p in spec.params} if spec else {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise CliError(f"--arg expects NAME=VALUE, got {quote(pair)}")
        args[name] = parse_arg_value(text, annotations.get(name, Any))
    return args
