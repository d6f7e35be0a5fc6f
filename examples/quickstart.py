"""A first rota app: two jobs, launched from Python and run by an embedded worker.

    python examples/quickstart.py            # launches runs and works them off
    rota --app examples/quickstart.py run    # a node: worker, scheduler, REST API on :8080

The database defaults to sqlite:///rota.db in the working directory (ROTA_DATABASE_URL or
App(database=...) change it, e.g. to postgresql://user@host/db).
"""

from __future__ import annotations

import asyncio

import rota

app = rota.App()


@app.job
def send_receipt(order_id: int, email: str = "customer@example.com") -> str:
    """Pretend to e-mail a receipt."""
    return f"receipt for order {order_id} sent to {email}"


@app.job(queue="default", max_attempts=5, timeout=30)
async def fetch_total(order_ids: list[int], ctx: rota.Context) -> int:
    """Add up order totals, reporting progress as it goes."""
    total = 0
    for done, order_id in enumerate(order_ids, start=1):
        await asyncio.sleep(0.01)
        total += order_id * 10
        ctx.progress(done, len(order_ids), f"order {order_id}")
    return total


@app.periodic(every=30)
def heartbeat() -> str:
    """Runs every 30 seconds on whichever node's scheduler gets there first."""
    return "still here"


def main() -> None:
    receipt = send_receipt.enqueue(order_id=42)
    total = fetch_total.enqueue(order_ids=[1, 2, 3])
    later = send_receipt.configure(delay=1.5, priority=-1).enqueue(order_id=43)
    app.start()  # worker and maintenance in background threads of this process
    try:
        for handle in (receipt, total, later):
            print(f"run {handle.id}: {handle.result(timeout=30)!r}")
    finally:
        app.stop()


if __name__ == "__main__":
    main()
