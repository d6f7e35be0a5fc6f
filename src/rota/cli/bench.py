"""``rota bench``: rota measured on your database, each figure beside a bare SQL loop's."""

from __future__ import annotations

from typing import Any

import click

from rota.app import App
from rota.bench.report import Report
from rota.bench.suite import WORKLOADS, Settings, run
from rota.cli.output import note, print_json, table
from rota.cli.session import Session

POSITIVE = click.IntRange(min=1)


@click.command()
@click.option("--database", metavar="URL", help="The database to measure (else rota's global one).")
@click.option("--runs", type=POSITIVE, default=10_000, show_default=True, help="Runs per workload.")
@click.option("--workers", type=POSITIVE, default=1, show_default=True, help="Worker processes.")
@click.option(
    "--concurrency", type=POSITIVE, default=2, show_default=True, help="Runs at once per worker."
)
@click.option("--latency-runs", type=POSITIVE, default=200, show_default=True)
@click.option("--fires", type=POSITIVE, default=10, show_default=True, help="Schedule fires (1 s).")
@click.option("--only", type=click.Choice(WORKLOADS), multiple=True, help="Repeat for several.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_obj
def bench(
    session: Session,
    database: str | None,
    runs: int,
    workers: int,
    concurrency: int,
    latency_runs: int,
    fires: int,
    only: tuple[str, ...],
    as_json: bool,
) -> None:
    """Measure enqueue, drain, latency and schedule fires on a database, against a bare loop.

    The bench keeps to its own queue (rota_bench), jobs and schedule (rota.bench.*) and table
    (rota_bench_bare), deletes them when done, and refuses to start while another worker is
    live on the database (it could take the bench's runs). Run it on a quiet database.
    """
    url = database or session.database or App().database_url
    settings = Settings(url, runs, workers, concurrency, latency_runs, fires, only or WORKLOADS)
    report = run(settings, progress=lambda line: None if as_json else note(line))
    if as_json:
        print_json(report.to_json())
    else:
        show(report)


def show(report: Report) -> None:
    """A rich table on a terminal when rich is installed; the plain aligned table otherwise."""
    title = (
        f"rota bench: {report.database}, {report.workers} worker(s) x concurrency "
        f"{report.concurrency}"
    )
    headers = ["workload", "rota", "bare loop", "rota / bare"]
    rows = [
        [
            r.label,
            f"{r.rota:,.0f} runs/s",
            "-" if r.bare is None else f"{r.bare:,.0f} runs/s ({r.bare_label})",
            "-" if r.ratio is None else f"{r.ratio:.1%}",
        ]
        for r in report.rates
    ]
    rows += [
        [
            s.label,
            " / ".join(f"p{p} {s.percentile(p):.1f}" for p in s.points) + " ms",
            "-",
            "-",
        ]
        for s in report.spreads
    ]
    if not _rich_table(title, headers, rows):
        note(title)
        table(headers, rows, empty="nothing measured")


def _rich_table(title: str, headers: list[str], rows: list[list[str]]) -> bool:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        return False
    console: Any = Console()
    if not console.is_terminal:
        return False
    shown = Table(title=title)
    for i, header in enumerate(headers):
        shown.add_column(header, justify="left" if i == 0 else "right")
    for row in rows:
        shown.add_row(*row)
    console.print(shown)
    return True
