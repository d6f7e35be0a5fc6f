"""Launch rate over HTTP: a real client against ``rota.web.server.serve`` in its own process.

    python benchmarks/http_launch.py --database sqlite:////tmp/bench-http.db
    python benchmarks/http_launch.py --database postgresql://postgres@127.0.0.1/rota_bench

Sends ``POST /api/jobs/noop/runs`` from ``--concurrency`` keep-alive connections (httpx, async)
until ``--requests`` runs are launched, with a bearer token as in production, then again with
an ``Idempotency-Key`` on every request. Prints launches per second and the latency
percentiles seen by the client. One uvicorn process, no worker: only the launch path is
measured. The database is emptied first: never point it at data you want to keep.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import httpx
from throughput import reset  # same folder: one way to empty the database

TOKEN = "benchmark-token"
SERVER = textwrap.dedent(
    """
    import sys
    import rota
    from rota.web.server import serve

    app = rota.App(database=sys.argv[1])

    @app.job
    def noop(i: int) -> None:
        return None

    serve(app, "127.0.0.1", int(sys.argv[2]), sys.argv[3], access_log=False, log_level="warning")
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    script = folder / "bench_server.py"
    script.write_text(SERVER)
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(script), url, str(port), TOKEN])
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the server did not start within 60 s")


async def launch_all(base: str, requests: int, concurrency: int, keyed: bool) -> list[float]:
    """Latencies (seconds) of ``requests`` launches sent from ``concurrency`` connections."""
    latencies: list[float] = []
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as client:

        async def one_connection() -> None:
            for i in counter:
                extra = {"Idempotency-Key": uuid.uuid4().hex} if keyed else {}
                began = time.perf_counter()
                response = await client.post(
                    "/api/jobs/noop/runs", json={"args": {"i": i}}, headers=extra
                )
                latencies.append(time.perf_counter() - began)
                if response.status_code != 201:
                    raise SystemExit(f"launch failed: {response.status_code} {response.text}")

        await asyncio.gather(*(one_connection() for _ in range(concurrency)))
    return latencies


def report(name: str, latencies: list[float], elapsed: float) -> None:
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100)
    print(
        f"{name:<28} {len(ms) / elapsed:8.0f}/s   p50 {q[49]:6.1f} ms   p90 {q[89]:6.1f} ms   "
        f"p99 {q[98]:6.1f} ms   max {ms[-1]:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=None, help="default: a SQLite file in a temp dir")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{os.path.join(tmp, 'bench-http.db')}"
        reset(url)
        proc, base = start_server(url, Path(tmp))
        try:
            print(f"rota HTTP launch benchmark: {url.split('@')[-1]}, {args.requests} requests, "
                  f"{args.concurrency} connections, 1 uvicorn process")  # fmt: skip
            asyncio.run(launch_all(base, min(500, args.requests), args.concurrency, False))  # warm
            for name, keyed in (("POST /runs", False), ("POST /runs + Idempotency-Key", True)):
                began = time.perf_counter()
                latencies = asyncio.run(launch_all(base, args.requests, args.concurrency, keyed))
                report(name, latencies, time.perf_counter() - began)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
