"""Node commands (``rota worker``, ``scheduler``, ``serve``, ``run``) as long-lived subprocesses
whose output goes to a log file the test reads while they run."""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.acceptance.conftest import Cli, clean_env
from tests.support import Process, Processes, free_port, spawn

STARTED = re.compile(r" node (\S+) started \(database (\S+)\): (.*)$", re.MULTILINE)
SERVING = re.compile(r"^rota: serving the REST API and dashboard on (\S+)$", re.MULTILINE)


def node_args(node: str) -> list[str]:
    """The arguments of a node command; the ones with the API get a free port."""
    return [node, "--port", str(free_port())] if node in ("serve", "run") else [node]


class Nodes(Processes):
    """Node processes of one test, each logging to a file; all killed at teardown."""

    def __init__(self, workdir: Path) -> None:
        super().__init__()
        self.workdir = workdir

    def start(self, cli: Cli, *args: str) -> Process:
        name = f"{args[0]}{len(self.spawned) + 1}"
        log_path = self.workdir / f"{name}.log"
        env = {**clean_env(), "PYTHONUNBUFFERED": "1"}
        argv = [*cli.command, *cli.globals(), *args]
        return self.add(Process(name, spawn(argv, log_path, cwd=cli.cwd, env=env), log_path))


def running_nodes(tmp_path: Path) -> Iterator[Nodes]:
    """The body of a test module's ``nodes`` fixture."""
    n = Nodes(tmp_path)
    try:
        yield n
    finally:
        n.cleanup()
        print(n.logs())  # shown by pytest when the test failed


def opened(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open (Linux): it is trying that database."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.path.realpath(fds / fd) == str(path) for fd in os.listdir(fds))
    except OSError:
        return False


def health(url: str) -> int | None:
    """The status of ``GET /api/health`` at a server's URL, or None if nothing answers."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/api/health", timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return None
