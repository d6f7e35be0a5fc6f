"""A workflow: a daily sales report from three regions, and a failed step repaired.

    python examples/workflows.py                 # one region's feed is down: the report
                                                 # fails, the feed comes back, a retry ends it
    rota --app examples/workflows.py launch sales_report --arg day=2026-12-07 --wait
    rota --app examples/workflows.py workflows list
    rota --app examples/workflows.py workflows show 1
    rota --app examples/workflows.py workflows retry 1

The three regions' sales are fetched in parallel; ``total`` runs once all three succeeded and
receives their results through ``rota.Upstream``; ``publish`` runs after it. When a region's
fetch fails, the steps after it are cancelled (``UpstreamFailed``); retrying the workflow runs
the failed fetch again and goes on from there: the regions that succeeded are not fetched
again.
"""

from __future__ import annotations

import rota

app = rota.App()

REGIONS = ["emea", "amer", "apac"]
SALES = {"emea": [120, 80], "amer": [200, 15, 5], "apac": [60]}
DOWN: set[str] = set()  # regions whose feed is down (set by the demo below)
FETCHED: list[str] = []


@app.job(max_attempts=1)  # fail at once in this demo; a real feed would retry with backoff
def fetch_sales(region: str, day: str) -> int:
    FETCHED.append(region)
    if region in DOWN:
        raise ConnectionError(f"the {region} feed is down")
    return sum(SALES[region])


@app.job
def add_up(sales: rota.Upstream) -> int:
    return sum(sales.values())  # sales: {"emea": 200, "amer": 220, "apac": 60}


@app.job
def publish(day: str, up: rota.Upstream) -> str:
    return f"sales on {day}: {up['total']}"


@app.workflow
def sales_report(day: str) -> rota.Workflow:
    """A job: launched from anywhere (Python, CLI, REST, a schedule), its run enqueues this
    workflow and returns its id."""
    wf = rota.Workflow(f"sales report {day}")
    for region in REGIONS:
        wf.add(region, fetch_sales, {"region": region, "day": day})
    wf.add("total", add_up, after=REGIONS)
    wf.add("publish", publish, {"day": day}, after=["total"])
    return wf


def show(handle: rota.WorkflowHandle) -> None:
    wf = handle.workflow()
    print(f"workflow {wf.id} {wf.name!r}: {wf.state.value}")
    for step in wf.steps:
        line = f"  {step.name}: {step.state.value}"
        errors = app.runs.get(step.run_id).errors
        if step.state is not rota.RunState.SUCCEEDED and errors:
            line += f" ({errors[-1]['type']}: {errors[-1]['message']})"
        print(line)


if __name__ == "__main__":
    DOWN.add("apac")
    run = sales_report.enqueue(day="2026-12-07")
    app.drain()
    handle = app.workflows.get(run.result(timeout=10))
    show(handle)
    DOWN.clear()  # the feed is back: retry the workflow (or only the failed step's run)
    FETCHED.clear()
    handle.retry()
    app.drain()
    show(handle)
    print(f"fetched again: {FETCHED}; {handle.result(timeout=10)['publish']}")
