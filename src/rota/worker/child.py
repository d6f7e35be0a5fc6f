"""The child process of ``executor="process"`` jobs: imports each job by name and runs it.

Started by ``rota.worker.process_pool`` as ``python -m rota.worker.child FD``, FD being its end
of a socket pair. Messages are lines of JSON both ways, never pickles: the parent sends a run
(the job's module and name, the run's JSON arguments) and later, perhaps, ``cancel`` or
``shutdown``; the child answers with ``progress`` lines and one ``done`` line per run, the
result as JSON. When the parent goes away (its end closes), the child exits at once: a job
must not outlive the worker that claimed its run.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import json
import os
import queue
import socket
import sys
import threading
import traceback
from types import ModuleType
from typing import Any

from rota.context import Context
from rota.errors import Discard, HandBack, Retry, Snooze
from rota.jobs import JobOptions, JobSpec
from rota.worker.storable import check_result, describe
from rota.workflows import Upstream


class Channel:
    """The child's end of the socket: lines of JSON in, lines of JSON out (thread-safe)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._reader = sock.makefile("rb")
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, default=str).encode() + b"\n"
        with self._lock:
            self._sock.sendall(data)

    def receive(self) -> dict[str, Any] | None:
        line = self._reader.readline()
        return json.loads(line) if line else None


class Child:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.runs: queue.SimpleQueue[tuple[dict[str, Any], Context]] = queue.SimpleQueue()
        self.ctx: Context | None = None
        self.task: tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]] | None = None
        self.specs: dict[tuple[str, str, str], JobSpec] = {}

    def listen(self) -> None:
        """The reader thread: runs go to the main thread, cancels to the running job."""
        while True:
            try:
                message = self.channel.receive()
            except (OSError, ValueError):
                message = None
            if message is None:  # the worker is gone: so is its job
                os._exit(70)
            op = message.get("op")
            if op == "exit":
                os._exit(0)
            try:
                self._handle(op, message)
            except Exception as exc:  # the reader must live on: the parent waits on it
                print(f"rota child: message {op!r} not handled: {exc!r}", file=sys.stderr)

    def _handle(self, op: object, message: dict[str, Any]) -> None:
        if op == "run":  # its context is made here: a cancel right behind it finds it
            info = message["ctx"]
            self.ctx = Context(
                info["run_id"],
                info["attempt"],
                info["job_name"],
                progress_sink=lambda value: self.channel.send({"op": "progress", "value": value}),
                node_id=info.get("node_id"),
            )
            self.task = None
            self.runs.put((message, self.ctx))
        elif op in ("cancel", "shutdown") and self.ctx is not None:
            self._cancel(self.ctx, op == "cancel", bool(message.get("shutdown")))

    def _cancel(self, ctx: Context, cancel: bool, shutdown: bool) -> None:
        if not cancel:
            ctx.begin_shutdown()
            return
        ctx.request_cancel(shutdown=shutdown)
        task = self.task
        if task is not None:  # an async job is cancelled as a task, as on the event loop
            loop, running = task
            with contextlib.suppress(RuntimeError):  # its loop closed: the job has ended
                loop.call_soon_threadsafe(running.cancel)

    def serve(self) -> None:
        threading.Thread(target=self.listen, name="rota-child-reader", daemon=True).start()
        while True:
            run, ctx = self.runs.get()
            self.channel.send({"op": "done", **self.execute(run, ctx), "rss": rss_bytes()})

    def execute(self, run: dict[str, Any], ctx: Context) -> dict[str, Any]:
        try:
            spec = self.resolve(run["job"], ctx.job_name)
            self.channel.send({"op": "started"})  # its timeout counts from here
            result = self.call(spec, run, ctx)
        except BaseException as exc:  # the job's failure, whatever it is, ends its attempt
            return {"ok": False, "error": error_payload(exc)}
        problem = check_result(result)
        if problem is not None:
            return {"ok": False, "error": error_payload(problem)}
        return {"ok": True, "result": result}

    def resolve(self, job: dict[str, Any], name: str) -> JobSpec:
        """The job's function (imported once) and what its signature asks for."""
        key = (job["module"], job["qualname"], name)
        if key not in self.specs:
            obj: Any = import_job_module(job["module"], job.get("file"))
            for part in job["qualname"].split("."):
                obj = getattr(obj, part)
            spec = getattr(obj, "spec", None)  # a rota.Job where @app.job decorated it
            func = spec.func if isinstance(spec, JobSpec) else obj
            self.specs[key] = JobSpec.from_function(func, name, JobOptions())
        return self.specs[key]

    def call(self, spec: JobSpec, run: dict[str, Any], ctx: Context) -> Any:
        kwargs = spec.call_args(run["args"])
        if spec.context_param:
            kwargs[spec.context_param] = ctx
        if "upstream" in spec.extra:
            kwargs[spec.extra["upstream"]] = Upstream(run.get("upstream") or {})
        if run.get("cancelled"):
            ctx.request_cancel()
        if not spec.is_async:
            return spec.func(**kwargs)
        return asyncio.run(self._task(spec.func(**kwargs), ctx))

    async def _task(self, coro: Any, ctx: Context) -> Any:
        task = asyncio.ensure_future(coro)
        self.task = (asyncio.get_running_loop(), task)
        if ctx.cancelled:  # asked before the task existed
            task.cancel()
        return await task


def import_job_module(name: str, file: str | None) -> ModuleType:
    """The job's module, by name; a script run as ``__main__`` from its file, as another
    module (its ``if __name__ == "__main__":`` block does not run again)."""
    if name != "__main__":
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            if not file:
                raise
    if not file:
        raise ImportError("the job is defined in __main__ without a file: define it in a module")
    alias = name if name != "__main__" else "__rota_main__"
    if alias in sys.modules:
        return sys.modules[alias]
    spec = importlib.util.spec_from_file_location(alias, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import the job's module from {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return module


def error_payload(exc: BaseException) -> dict[str, Any]:
    """What the parent needs to rebuild the failure: its kind, text and traceback (no pickle)."""
    kind = "error"
    after: float | None = None
    if isinstance(exc, Retry):
        kind, after = "retry", exc.after
    elif isinstance(exc, Discard):
        kind = "discard"
    elif isinstance(exc, Snooze):
        kind, after = "snooze", exc.after
    elif isinstance(exc, HandBack):
        kind = "hand_back"
    elif isinstance(exc, asyncio.CancelledError):
        kind = "cancelled"
    try:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except BaseException as failed:  # a hostile __cause__, __notes__ or __str__
        tb = f"<traceback unavailable: formatting it raised {type(failed).__name__}>"
    return {
        "kind": kind,
        "type": type(exc).__name__,
        "message": describe(exc),
        "traceback": tb,
        "after": after,
    }


def rss_bytes() -> int:
    """This process's resident memory now (Linux), else its peak."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)


def main(argv: list[str]) -> None:
    sys.path[:] = json.loads(os.environ.pop("ROTA_CHILD_PATH", "[]")) or sys.path
    sock = socket.socket(fileno=int(argv[1]))
    Child(Channel(sock)).serve()


if __name__ == "__main__":
    main(sys.argv)
