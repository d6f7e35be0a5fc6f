"""Job definitions: the decorator's product, its options, and argument validation at launch."""

from __future__ import annotations

import inspect
import json
import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from rota.context import Context
from rota.errors import InvalidArguments
from rota.retry import Backoff, BackoffFn

DEFAULT_QUEUE = "default"
DEFAULT_MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    annotation: Any
    required: bool
    default: Any = None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": type_name(self.annotation),
            "required": self.required,
            **({} if self.required else {"default": _jsonable_default(self.default)}),
        }


def _jsonable_default(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def type_name(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty or annotation is Any:
        return "any"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


@dataclass(frozen=True, slots=True)
class JobOptions:
    queue: str = DEFAULT_QUEUE
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    priority: int = 0
    timeout: float | None = None
    backoff: Backoff | BackoffFn | None = None


@dataclass(frozen=True)
class JobSpec:
    """A named definition of work: the function, its options and its parameters."""

    name: str
    func: Callable[..., Any]
    options: JobOptions
    params: tuple[Param, ...]
    context_param: str | None
    is_async: bool
    kind: str = "function"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_function(
        cls, func: Callable[..., Any], name: str, options: JobOptions, kind: str = "function"
    ) -> JobSpec:
        sig = inspect.signature(func)
        try:
            hints = typing.get_type_hints(func)
        except Exception:  # unresolved forward refs: fall back to raw annotations
            hints = {}
        params: list[Param] = []
        context_param = None
        for p in sig.parameters.values():
            ann = hints.get(p.name, p.annotation)
            if _is_context(ann):
                context_param = p.name
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY):
                raise TypeError(
                    f"job {name!r}: parameter {p.name!r} must be passable by keyword "
                    "(rota passes JSON arguments by name)"
                )
            params.append(
                Param(
                    p.name, ann, p.default is p.empty, None if p.default is p.empty else p.default
                )
            )
        return cls(
            name=name,
            func=func,
            options=options,
            params=tuple(params),
            context_param=context_param,
            is_async=inspect.iscoroutinefunction(func),
            kind=kind,
        )

    def validate(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``args`` against the signature and type hints; returns a plain dict copy."""
        return validate_args(self.name, self.params, args)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "queue": self.options.queue,
            "max_attempts": self.options.max_attempts,
            "priority": self.options.priority,
            "timeout": self.options.timeout,
            "is_async": self.is_async,
            "params": [p.describe() for p in self.params],
            "doc": inspect.getdoc(self.func) or "",
        }


def _is_context(ann: Any) -> bool:
    """``Context``, or ``Context | None`` (so the function can still be called without one)."""
    if ann is Context:
        return True
    if typing.get_origin(ann) not in (typing.Union, types.UnionType):
        return False
    return set(typing.get_args(ann)) == {Context, type(None)}


def validate_args(job: str, params: Sequence[Param], args: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(args, Mapping):
        raise InvalidArguments(f"job {job!r}: arguments must be a JSON object of name: value")
    known = {p.name: p for p in params}
    unknown = sorted(set(args) - set(known))
    if unknown:
        raise InvalidArguments(
            f"job {job!r}: unknown argument(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(known) or 'no arguments'}"
        )
    missing = [p.name for p in params if p.required and p.name not in args]
    if missing:
        raise InvalidArguments(f"job {job!r}: missing argument(s) {', '.join(missing)}")
    for name, value in args.items():
        if not isinstance(name, str):
            raise InvalidArguments(f"job {job!r}: argument names must be strings")
        _check_json(job, name, value)
        problem = check_type(value, known[name].annotation)
        if problem:
            raise InvalidArguments(f"job {job!r}: argument {name!r}: {problem}")
    return dict(args)


def _check_json(job: str, name: str, value: Any) -> None:
    try:
        json.dumps(value, allow_nan=False)
        problem = _unstorable(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidArguments(
            f"job {job!r}: argument {name!r} is not a JSON value ({exc})"
        ) from None
    if problem is not None:
        raise InvalidArguments(f"job {job!r}: argument {name!r} is not a JSON value ({problem})")


def _unstorable(value: Any) -> str | None:
    """What JSON would silently change or a database cannot store, if anything.

    Object keys must be strings (JSON would turn them into strings), and text must be valid
    Unicode without NUL characters (PostgreSQL stores neither NUL nor lone surrogates).
    """
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return problem
        elif isinstance(item, dict):
            for k, v in item.items():
                if not isinstance(k, str):
                    return f"object keys must be strings, got {cast(object, k)!r}"
                stack.extend((k, v))
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as it is (NUL or a lone surrogate), else None."""
    if "\x00" in text:
        return "text must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text must be valid Unicode (no lone surrogates)"
    return None


def check_type(value: Any, ann: Any) -> str | None:
    """None when ``value`` (a JSON value) fits the annotation, else what is wrong."""
    if ann is inspect.Parameter.empty or ann is Any or ann is object:
        return None
    origin = typing.get_origin(ann)
    if origin is typing.Union or origin is types.UnionType:
        options = typing.get_args(ann)
        if any(check_type(value, a) is None for a in options):
            return None
        return f"expected {type_name(ann)}, got {_jtype(value)} {_short(value)}"
    if origin is typing.Literal:
        if value in typing.get_args(ann):
            return None
        return f"expected one of {list(typing.get_args(ann))}, got {_short(value)}"
    if ann is None or ann is type(None):
        return None if value is None else f"expected null, got {_jtype(value)}"
    if ann is bool:
        return (
            None
            if isinstance(value, bool)
            else f"expected bool, got {_jtype(value)} {_short(value)}"
        )
    if ann is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"expected int, got {_jtype(value)} {_short(value)}"
    if ann is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        return None if ok else f"expected float, got {_jtype(value)} {_short(value)}"
    if ann is str:
        return (
            None if isinstance(value, str) else f"expected str, got {_jtype(value)} {_short(value)}"
        )
    if ann in (list, tuple) or origin in (list, tuple, Sequence, typing.Sequence):
        if not isinstance(value, list):
            return f"expected a list, got {_jtype(value)}"
        inner = typing.get_args(ann)
        if origin is tuple and inner and inner[-1] is not Ellipsis:
            if len(value) != len(inner):
                return f"expected a list of {len(inner)} items, got {len(value)}"
            pairs = list(zip(value, inner, strict=True))
        else:
            pairs = [(item, inner[0]) for item in value] if inner else []
        for i, (item, item_ann) in enumerate(pairs):
            problem = check_type(item, item_ann)
            if problem:
                return f"item {i}: {problem}"
        return None
    if ann is dict or origin in (dict, Mapping, typing.Mapping):
        if not isinstance(value, dict):
            return f"expected an object, got {_jtype(value)}"
        inner = typing.get_args(ann)
        if len(inner) == 2:
            for k, v in value.items():
                problem = check_type(v, inner[1])
                if problem:
                    return f"key {k!r}: {problem}"
        return None
    return None  # a type rota cannot check from JSON: accepted as given


def _jtype(value: Any) -> str:
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "object"}.get(
        type(value), type(value).__name__ if value is not None else "null"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- the job object users hold --------------------------------------------------------------

Delay = float | int | timedelta


class Launcher(Protocol):
    """What a Job needs from its app to launch: the one launch path (implemented by App)."""

    def launch(
        self, job: str, args_list: Sequence[Mapping[str, Any]], options: LaunchOptions
    ) -> list[Any]: ...


@dataclass(frozen=True, slots=True)
class LaunchOptions:
    delay: Delay | None = None
    run_at: datetime | None = None
    priority: int | None = None
    queue: str | None = None
    unique_key: str | None = None
    max_attempts: int | None = None
    connection: Any = None
    schedule: str | None = None
    idempotency_key: str | None = None
    """The same key returns the same run for a day; reused for another launch it is refused."""


class Job:
    """A defined job. Call it to run the function directly; ``enqueue`` to launch a run."""

    def __init__(self, spec: JobSpec, launcher: Launcher, options: LaunchOptions | None = None):
        self.spec = spec
        self._launcher = launcher
        self._options = options or LaunchOptions()
        self.__name__ = spec.name
        self.__doc__ = spec.func.__doc__
        self.__wrapped__ = spec.extra.get("build", spec.func)

    @property
    def name(self) -> str:
        return self.spec.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function directly (a batch job's: build its flow)."""
        return self.__wrapped__(*args, **kwargs)

    def configure(self, **options: Any) -> Job:
        """A copy of this job that launches with these options (delay, run_at, queue, ...)."""
        allowed = set(LaunchOptions.__dataclass_fields__) - {"schedule"}
        unknown = set(options) - allowed
        if unknown:
            raise TypeError(f"configure() got unknown option(s): {', '.join(sorted(unknown))}")
        merged = {
            k: getattr(self._options, k) for k in LaunchOptions.__dataclass_fields__
        } | options
        return Job(self.spec, self._launcher, LaunchOptions(**merged))

    def enqueue(self, **kwargs: Any) -> Any:
        """Launch one run with these keyword arguments; returns a ``rota.RunHandle``."""
        return self._launcher.launch(self.spec.name, [kwargs], self._options)[0]

    def enqueue_many(self, args_list: Sequence[Mapping[str, Any]]) -> list[int]:
        """Launch many runs in one round trip; returns their ids."""
        return [h.id for h in self._launcher.launch(self.spec.name, list(args_list), self._options)]

    async def enqueue_async(self, **kwargs: Any) -> Any:
        """``enqueue`` for async code: runs the sync launch on a thread."""
        import asyncio

        return await asyncio.to_thread(self.enqueue, **kwargs)

    def __repr__(self) -> str:
        return f"<rota.Job {self.spec.name}>"
