"""rota embedded in a FastAPI app: a route enqueues, the server's own process runs the job.

    uvicorn fastapi_app:web --app-dir examples --port 8000
    curl -X POST localhost:8000/orders/42/receipt              # {"run_id": 1}
    curl localhost:8000/rota/api/runs/1                        # the run, through rota's API

The lifespan starts rota's worker, scheduler and maintenance in background threads when the
server starts and stops them gracefully on shutdown. With ``--workers N`` every process is a
node: each run is claimed once and ``tick`` fires once per fire time. The database comes from
ROTA_DATABASE_URL (default sqlite:///rota.db); ROTA_API_TOKEN protects the mounted API.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

import rota
from rota.integrations.fastapi import lifespan, mount

app = rota.App()


@app.job
def send_receipt(order_id: int) -> str:
    """Pretend to e-mail a receipt."""
    return f"receipt for order {order_id} sent"


@app.periodic(every=float(os.environ.get("TICK_SECONDS", "60")))
def tick() -> str:
    """A schedule: fires once per fire time, however many server processes run."""
    return "tick"


web = FastAPI(lifespan=lifespan(app, worker=True, scheduler=True))
mount(web, app, prefix="/rota")


@web.post("/orders/{order_id}/receipt", status_code=202)
async def order_receipt(order_id: int) -> dict[str, int]:
    handle = await send_receipt.enqueue_async(order_id=order_id)
    return {"run_id": handle.id}


@web.get("/")
async def home() -> dict[str, str]:
    return {"app": "shop"}
