"""The bench's own app, queue and job; ``python -m rota.bench.jobs URL CONCURRENCY`` is a worker.

Everything the bench makes carries its names (queue ``rota_bench``, jobs and schedules named
``rota.bench.*``), so it can measure and forget them without touching the user's runs. Its
workers serve that queue only and run no maintenance: the user's retention, rescues and
schedules stay the business of the user's own nodes.
"""

from __future__ import annotations

import sys

from rota.app import App

QUEUE = "rota_bench"
PREFIX = "rota.bench."
NOOP = PREFIX + "noop"
SCHEDULE = PREFIX + "every_second"

app = App(name="rota-bench", retention=None, shutdown_timeout=5)


@app.job(name=NOOP, queue=QUEUE, max_attempts=1)
def noop(i: int) -> None:
    """The job every workload runs: it does nothing, so the figures are rota's own cost."""


def serve(url: str, concurrency: int) -> None:
    """A worker node of the bench queue in the foreground, until SIGTERM or SIGINT."""
    app.use_database(url)
    app.serve_forever(
        lambda: app.start(
            scheduler=False, maintenance=False, queues=[QUEUE], concurrency=concurrency
        ),
        details=app.worker_details([QUEUE], concurrency),
    )


if __name__ == "__main__":  # pragma: no cover - run as a subprocess by the bench
    serve(sys.argv[1], int(sys.argv[2]))
