"""rota embedded in a Flask app: a route enqueues, the server's own process runs the job.

    flask --app examples/flask_app.py run --port 5000
    curl -X POST localhost:5000/orders/42/receipt              # {"run_id": 1}
    curl localhost:5000/runs/1                                 # {"state": "succeeded", ...}

``Rota(app, web)`` starts rota's worker, scheduler and maintenance once per server process
(not in the reloader's watcher process) and stops them at exit. The database comes from
ROTA_DATABASE_URL (default sqlite:///rota.db).
"""

from __future__ import annotations

import os

from flask import Flask

import rota
from rota.integrations.flask import Rota

app = rota.App()


@app.job
def send_receipt(order_id: int) -> str:
    """Pretend to e-mail a receipt."""
    return f"receipt for order {order_id} sent"


@app.periodic(every=float(os.environ.get("TICK_SECONDS", "60")))
def tick() -> str:
    """A schedule: fires once per fire time, however many server processes run."""
    return "tick"


web = Flask(__name__)
Rota(app, web)


@web.post("/orders/<int:order_id>/receipt")
def order_receipt(order_id: int) -> tuple[dict[str, int], int]:
    handle = send_receipt.enqueue(order_id=order_id)
    return {"run_id": handle.id}, 202


@web.get("/runs/<int:run_id>")
def show_run(run_id: int) -> dict[str, object]:
    run = web.extensions["rota"].runs.get(run_id)
    return {"id": run.id, "state": run.state.value, "result": run.result}


@web.get("/")
def home() -> dict[str, str]:
    return {"app": "shop"}
