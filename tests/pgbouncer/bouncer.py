"""A real PgBouncer in transaction pooling mode in front of the test PostgreSQL.

``start_pgbouncer`` writes its own ini (trust auth for the test URL's user, ``pool_mode =
transaction``, a free 127.0.0.1 port) into a fresh directory and starts ``pgbouncer`` in the
foreground; ``PgBouncer.stop`` ends it. Without a ``pgbouncer`` binary the tests skip with the
reason, except in CI (``CI=true``), where they fail: .ci/run installs Debian's pgbouncer.
PgBouncer refuses to run as root: as root it is started with ``-u postgres`` and its directory
belongs to that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import IN_CI, PG_URL
from tests.support import wait_until

CANDIDATES = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")
DATABASE = "rota"  # the name clients use at the pooler


def pgbouncer_binary() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    return next((c for c in CANDIDATES if os.access(c, os.X_OK)), None)


def require_pgbouncer() -> str:
    found = pgbouncer_binary()
    if found is not None:
        return found
    reason = "pgbouncer is not installed (Debian: apt-get install pgbouncer)"
    if IN_CI:
        pytest.fail(f"PgBouncer is required in CI: {reason}")
    pytest.skip(f"PgBouncer tests skipped: {reason}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgBouncer:
    process: subprocess.Popen[bytes]
    port: int
    directory: Path
    user: str

    @property
    def plain_url(self) -> str:
        """The pooler's URL as libpq reads it (no rota options)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def url(self) -> str:
        """rota's URL through the pooler: transaction pooling said, workers poll."""
        return self.plain_url + "?rota_pooler=transaction"

    @property
    def listen_url(self) -> str:
        """rota's URL through the pooler with a direct connection for LISTEN."""
        return f"{self.url}&rota_listen={quote(PG_URL, safe='')}"

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_pgbouncer() -> PgBouncer:
    """A PgBouncer in transaction mode in front of the test database, answering queries."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    binary = require_pgbouncer()
    server = conninfo_to_dict(PG_URL)
    user = str(server.get("user", "postgres"))
    directory = Path(tempfile.mkdtemp(prefix="rota-pgbouncer-"))
    port = free_port()
    target = " ".join(
        f"{k}={server[k]}" for k in ("host", "port", "dbname", "user", "password") if k in server
    )
    (directory / "users.txt").write_text(f'"{user}" ""\n')
    ini = directory / "pgbouncer.ini"
    ini.write_text(
        f"[databases]\n{DATABASE} = {target}\n\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {directory / 'users.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 20\nmax_client_conn = 500\n"
        f"logfile = {directory / 'pgbouncer.log'}\npidfile = {directory / 'pgbouncer.pid'}\n"
    )
    command = [binary, str(ini)]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        owner = pwd.getpwnam("postgres")
        for path in (directory, *directory.iterdir()):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        command = [binary, "-u", "postgres", str(ini)]
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    bouncer = PgBouncer(process, port, directory, user)

    def answers() -> bool:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"pgbouncer exited {process.returncode}: {err}{bouncer.log()}")
        try:
            with psycopg.connect(bouncer.plain_url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    try:
        wait_until(answers, timeout=20, what="pgbouncer answers")
    except BaseException:
        bouncer.stop()
        raise
    return bouncer
