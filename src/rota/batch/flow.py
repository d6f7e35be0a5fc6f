"""Defining a batch job: its steps (tasklet, chunk, partitioned chunk) and the flow between them.

A step ends with an exit status (``COMPLETED``, ``FAILED``, ``STOPPED``, or what a tasklet
returns). ``on`` maps exit statuses (``*`` and ``?`` patterns allowed) to a later step's name,
or to ``END`` / ``FAIL`` (forward only: a flow has no loops); without a match a completed step
goes to the next one in the list and a failed step fails the execution: Spring Batch's
``on("FAILED").to(...)``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rota.batch.context import StepContext
from rota.batch.model import COMPLETED, FAILED, STOPPED

END = "END"
"""Transition target: end the execution, completed."""
FAIL = "FAIL"
"""Transition target: end the execution, failed."""

Reader = Callable[[StepContext], Iterable[Any]]
Processor = Callable[[Any], Any]
Writer = Callable[[list[Any]], Any]
Partitioner = Callable[[StepContext], Sequence[Mapping[str, Any]]]
Errors = tuple[type[BaseException], ...]


@dataclass(frozen=True)
class Step:
    name: str
    on: Mapping[str, str] = field(default_factory=dict)

    def target(self, exit_status: str) -> str | None:
        """Where ``on`` sends this exit status: the exact match first, then patterns."""
        if exit_status in self.on:
            return self.on[exit_status]
        for pattern, target in self.on.items():
            if fnmatch.fnmatchcase(exit_status, pattern):
                return target
        return None


@dataclass(frozen=True)
class Tasklet(Step):
    func: Callable[[StepContext], str | None] = lambda ctx: None


@dataclass(frozen=True)
class Chunk(Step):
    reader: Reader = lambda ctx: ()
    writer: Writer = lambda items: None
    processor: Processor | None = None
    size: int = 100
    skip_on: Errors = ()
    skip_limit: int = 0
    retry_on: Errors = ()
    retry_limit: int = 0
    resumes: bool | None = None
    partitions: int | Partitioner | None = None

    @property
    def reader_resumes(self) -> bool:
        """The reader continues from ``ctx.state`` itself, so the runner skips nothing."""
        if self.resumes is not None:
            return self.resumes
        return bool(getattr(self.reader, "resumes", False))


def tasklet(
    name: str, func: Callable[[StepContext], str | None], *, on: Mapping[str, str] | None = None
) -> Tasklet:
    """A step that calls ``func(ctx)`` once; it may return an exit status for the flow."""
    _check_name(name)
    if not callable(func):
        raise TypeError(f"tasklet {name!r}: func must be callable")
    return Tasklet(name, dict(on or {}), func)


def chunk(
    name: str,
    *,
    reader: Reader,
    writer: Writer,
    processor: Processor | None = None,
    size: int = 100,
    skip_on: Errors = (),
    skip_limit: int = 0,
    retry_on: Errors = (),
    retry_limit: int = 0,
    resumes: bool | None = None,
    partitions: int | Partitioner | None = None,
    on: Mapping[str, str] | None = None,
) -> Chunk:
    """A step that reads items, processes each (``None`` filters it out) and writes them in
    chunks of ``size``; each chunk commits its progress and ``ctx.state`` together.

    ``skip_on`` errors of an item are skipped, up to ``skip_limit`` per step execution (one
    more fails the step); ``retry_on`` errors retry the item (or the chunk's write) up to
    ``retry_limit`` more times. ``partitions`` (a count, or a function of the step context
    returning one dict per partition, seen as ``ctx.partition``) splits the step into child
    runs that any worker of the cluster executes, each with its own checkpoint.
    """
    _check_name(name)
    if not callable(reader) or not callable(writer):
        raise TypeError(f"chunk step {name!r}: reader and writer must be callable")
    if processor is not None and not callable(processor):
        raise TypeError(f"chunk step {name!r}: processor must be callable")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"chunk step {name!r}: size must be a positive integer")
    if skip_limit < 0 or retry_limit < 0:
        raise ValueError(f"chunk step {name!r}: skip_limit and retry_limit must be >= 0")
    if isinstance(partitions, int) and not isinstance(partitions, bool) and partitions < 1:
        raise ValueError(f"chunk step {name!r}: partitions must be at least 1")
    return Chunk(
        name,
        dict(on or {}),
        reader,
        writer,
        processor,
        size,
        tuple(skip_on),
        skip_limit,
        tuple(retry_on),
        retry_limit,
        resumes,
        partitions,
    )


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name or len(name) > 200 or name in (END, FAIL):
        raise ValueError(f"a step needs a name (not END or FAIL), got {name!r}")


class Flow:
    """The steps of a batch job, run in order unless their ``on`` transitions say otherwise."""

    def __init__(self, steps: Sequence[Step]) -> None:
        if not steps:
            raise ValueError("a flow needs at least one step")
        self.steps = list(steps)
        self._by_name: dict[str, Step] = {}
        for s in self.steps:
            if not isinstance(s, Step):
                raise TypeError(f"a flow takes steps (batch.tasklet, batch.chunk), got {s!r}")
            if s.name in self._by_name:
                raise ValueError(f"two steps are named {s.name!r}")
            self._by_name[s.name] = s
        for i, s in enumerate(self.steps):
            for target in s.on.values():
                if target in (END, FAIL):
                    continue
                if target not in self._by_name:
                    raise ValueError(f"step {s.name!r}: transition to unknown step {target!r}")
                if self.position(target) <= i:
                    # A step's checkpoint belongs to its one execution in the flow: a loop
                    # would resume it as finished. Loop inside a step (a tasklet) instead.
                    raise ValueError(
                        f"step {s.name!r}: transitions go forward only, not back to {target!r}"
                    )

    def __getitem__(self, name: str) -> Step:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def first(self) -> str:
        return self.steps[0].name

    def position(self, name: str) -> int:
        return next(i for i, s in enumerate(self.steps) if s.name == name)

    def after(self, name: str, exit_status: str) -> str:
        """The next step's name, ``END`` or ``FAIL``."""
        step = self._by_name[name]
        target = step.target(exit_status)
        if target is not None:
            return target
        if exit_status == FAILED:
            return FAIL
        if exit_status == STOPPED:
            return END
        i = self.position(name)
        return self.steps[i + 1].name if i + 1 < len(self.steps) else END


__all__ = ["COMPLETED", "END", "FAIL", "FAILED", "Chunk", "Flow", "Step", "Tasklet", "chunk"]
