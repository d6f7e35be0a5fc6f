"""Job definitions: the decorator's product, its options, and argument validation at launch."""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from rota.admission import JobLimits, check_limits, group_of
from rota.argtypes import check_type as check_type  # re-exported: where callers found it
from rota.argtypes import from_json, needs_conversion, to_json, type_name, unsupported
from rota.context import Context
from rota.errors import Discard, InvalidArguments
from rota.limits import MAX_ARGS_BYTES, MAX_ECHO, MAX_JSON_DEPTH, quote
from rota.retry import Backoff, BackoffFn
from rota.workflows import Upstream

DEFAULT_QUEUE = "default"
DEFAULT_MAX_ATTEMPTS = 3
EXECUTORS = ("default", "process")


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    annotation: Any
    required: bool
    default: Any = None
    converts: bool = False
    """Its JSON value becomes another object for the job (a datetime, an Enum...)."""

    def _default_json(self) -> Any:
        """The default as a launcher would give it (an Enum's value...), else its repr."""
        value = to_json(self.default, self.annotation)
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            return repr(self.default)
        return value

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": type_name(self.annotation),
            "required": self.required,
            **({} if self.required else {"default": self._default_json()}),
        }


@dataclass(frozen=True, slots=True)
class JobOptions:
    queue: str = DEFAULT_QUEUE
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    priority: int = 0
    timeout: float | None = None
    backoff: Backoff | BackoffFn | None = None
    limits: JobLimits = field(default_factory=JobLimits)
    """Flow control: concurrency and rate limits, optionally per value of an argument."""
    executor: str = "default"
    """Where attempts run: "default" (sync on threads, async on an event loop) or "process"
    (each attempt in a child process: a hard timeout, isolation from crashes)."""


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
        extra: dict[str, Any] = {}
        for p in sig.parameters.values():
            ann = hints.get(p.name, p.annotation)
            if _is_context(ann):
                context_param = p.name
                continue
            if ann is Upstream:  # not a launch argument: the upstream steps' results
                extra["upstream"] = p.name
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY):
                raise TypeError(
                    f"job {name!r}: parameter {p.name!r} must be passable by keyword "
                    "(rota passes JSON arguments by name)"
                )
            problem = unsupported(ann)
            if problem:
                raise TypeError(f"job {name!r}: parameter {p.name!r}: {problem}")
            default = None if p.default is p.empty else p.default
            params.append(Param(p.name, ann, p.default is p.empty, default, needs_conversion(ann)))
        return cls(
            name=name,
            func=func,
            options=options,
            params=tuple(params),
            context_param=context_param,
            is_async=inspect.iscoroutinefunction(func),
            kind=kind,
            extra=extra,
        )

    def validate(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``args`` against the signature and type hints; returns a plain dict copy."""
        return validate_args(self.name, self.params, args)

    def groups(self, args: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """The (concurrency, rate) groups a run with these valid arguments counts in; None for
        a limit the job does not have. ``InvalidArguments`` for a key value too long."""
        limits = self.options.limits
        try:
            return (
                None if limits.concurrency is None else self._group(limits.concurrency_key, args),
                None if limits.rate_limit is None else self._group(limits.rate_key, args),
            )
        except ValueError as exc:
            raise InvalidArguments(str(exc)) from None

    def _group(self, key: str | None, args: Mapping[str, Any]) -> str:
        param = next((p for p in self.params if p.name == key), None)
        default = None if param is None else to_json(param.default, param.annotation)
        return group_of(self.name, key, args, default)

    def call_args(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments to call the function with: the stored JSON values turned into
        the objects its annotations ask for (datetime, UUID, Decimal, an Enum, a dataclass...).

        A value that no longer fits (the job's signature changed since the launch) discards the
        run: another attempt would not fit any better.
        """
        kwargs = dict(args)
        for p in self.params:
            if p.converts and p.name in kwargs:
                problem = check_type(kwargs[p.name], p.annotation)
                if problem:
                    raise Discard(f"job {self.name!r}: argument {p.name!r}: {problem}")
                kwargs[p.name] = from_json(kwargs[p.name], p.annotation)
        return kwargs

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "queue": self.options.queue,
            "max_attempts": self.options.max_attempts,
            "priority": self.options.priority,
            "timeout": self.options.timeout,
            "executor": self.options.executor,
            "is_async": self.is_async,
            "params": [p.describe() for p in self.params],
            "doc": inspect.getdoc(self.func) or "",
        }


def define(
    func: Callable[..., Any], name: str, options: JobOptions, limits: tuple[Any, Any, Any, Any]
) -> JobSpec:
    """The spec ``@app.job`` registers; ``limits`` are its (concurrency, concurrency_key,
    rate_limit, rate_key) options, checked against the function's parameters (ValueError)."""
    if options.max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if options.timeout is not None and options.timeout <= 0:
        raise ValueError("timeout must be positive seconds")
    if options.executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(map(repr, EXECUTORS))}")
    spec = JobSpec.from_function(func, name, options)
    if options.executor == "process":
        check_importable(spec)
    if any(x is not None for x in limits):
        checked = check_limits(name, [p.name for p in spec.params], *limits)
        spec = replace(spec, options=replace(options, limits=checked))
    return spec


def check_importable(spec: JobSpec) -> None:
    """Refuse, at definition, a process job that a child process could not import by name."""
    qualname = getattr(spec.func, "__qualname__", None)
    if not isinstance(qualname, str) or "<" in qualname or not inspect.isfunction(spec.func):
        raise ValueError(
            f"job {spec.name!r}: executor='process' needs a module-level function (its child "
            f"process imports it by name), not {qualname or spec.func!r}"
        )


def _is_context(ann: Any) -> bool:
    """``Context``, or ``Context | None`` (so the function can still be called without one)."""
    if ann is Context:
        return True
    if typing.get_origin(ann) not in (typing.Union, types.UnionType):
        return False
    return set(typing.get_args(ann)) == {Context, type(None)}


def validate_args(job: str, params: Sequence[Param], args: Mapping[str, Any]) -> dict[str, Any]:
    """``args`` checked against the parameters, as JSON values: objects the annotations name
    (a datetime, a UUID...) are given in their JSON form, as they are stored."""
    if not isinstance(args, Mapping):
        raise InvalidArguments(f"job {job!r}: arguments must be a JSON object of name: value")
    known = {p.name: p for p in params}
    unknown = sorted((k for k in args if k not in known), key=str)
    if unknown:
        raise InvalidArguments(
            f"job {job!r}: unknown argument(s) {listing(unknown)}; "
            f"it takes: {', '.join(known) or 'no arguments'}"
        )
    missing = [p.name for p in params if p.required and p.name not in args]
    if missing:
        raise InvalidArguments(f"job {job!r}: missing argument(s) {', '.join(missing)}")
    valid: dict[str, Any] = {}
    size = 2  # {}: the size of the arguments as compact UTF-8 JSON, as stored
    for name, value in args.items():
        param = known[name]
        ann = param.annotation
        if param.converts:
            value = to_json(value, ann)
        problem = check_type(value, ann)
        if problem:
            raise InvalidArguments(f"job {job!r}: argument {name!r}: {problem}")
        size += _json_size(job, name, value) + len(name.encode("utf-8")) + 3  # "":
        valid[name] = value
    size += max(len(valid) - 1, 0)  # the commas between
    if size > MAX_ARGS_BYTES:
        raise InvalidArguments(
            f"job {job!r}: the arguments are {size} bytes as JSON, "
            f"more than the limit of {MAX_ARGS_BYTES} bytes"
        )
    return valid


def listing(names: Sequence[object], most: int = 10) -> str:
    """Names for an error message: short ones as they are, long ones cut, at most ``most``."""
    shown = [n if isinstance(n, str) and len(n) <= MAX_ECHO else quote(n) for n in names[:most]]
    more = f" (and {len(names) - most} more)" if len(names) > most else ""
    return ", ".join(shown) + more


def _json_size(job: str, name: str, value: Any) -> int:
    """The bytes of ``value`` as compact UTF-8 JSON; refused if it is not a storable value."""
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
        problem = _unstorable(value)
    except (TypeError, ValueError, RecursionError) as exc:
        problem = str(exc)
    if problem is not None:
        raise InvalidArguments(f"job {job!r}: argument {name!r} is not a JSON value ({problem})")
    return len(text.encode("utf-8"))


def _unstorable(value: Any) -> str | None:
    """What JSON would silently change or a database cannot store, if anything.

    Object keys must be strings (JSON would turn them into strings), text must be valid
    Unicode without NUL characters (PostgreSQL stores neither NUL nor lone surrogates), and
    objects and lists nest at most MAX_JSON_DEPTH levels (the REST API's limit too).
    """
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return problem
        elif isinstance(item, dict | list | tuple) and depth >= MAX_JSON_DEPTH:
            return f"it nests deeper than {MAX_JSON_DEPTH} levels"
        elif isinstance(item, dict):
            for k, v in item.items():
                if not isinstance(k, str):
                    return f"object keys must be strings, got {quote(cast(object, k))}"
                stack.extend(((k, depth), (v, depth + 1)))
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
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
        """The job's name: its function's ``__name__`` unless ``name=`` said otherwise."""
        return self.spec.name

    @property
    def app(self) -> Launcher:
        """The app the job is defined in (a workflow of job objects enqueues there)."""
        return self._launcher

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
