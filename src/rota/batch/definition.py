"""A batch job's definition: the function that builds its flow, and how instances are named."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rota.batch.flow import Flow
from rota.batch.model import identity
from rota.storage.base import BatchLaunch

PARTITION_JOB = "rota.batch.partition"
"""The internal job whose runs execute one partition of a partitioned step."""


@dataclass(frozen=True)
class BatchDefinition:
    name: str
    build: Callable[..., Flow]
    restart_limit: int | None = None
    identifying: tuple[str, ...] | None = None
    """The arguments that identify an instance (None: all of them)."""

    def instance_args(self, args: Mapping[str, Any]) -> dict[str, Any]:
        if self.identifying is None:
            return dict(args)
        return {k: v for k, v in args.items() if k in self.identifying}

    def launch(self, args: Mapping[str, Any]) -> BatchLaunch:
        key = self.instance_args(args)
        return BatchLaunch(identity(self.name, key), key, self.restart_limit)

    def flow(self, args: Mapping[str, Any]) -> Flow:
        flow = self.build(**args)
        if not isinstance(flow, Flow):
            raise TypeError(
                f"batch job {self.name!r} must return a batch.Flow, got {type(flow).__name__}"
            )
        return flow
