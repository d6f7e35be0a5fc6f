"""How-to: enqueue inside your own transaction (docs/how-to/transactional-enqueue.md; tests/examples
runs it on SQLite and PostgreSQL).

The order row and its run commit together, or neither does: no receipt for an order that was
rolled back, no order without its receipt. ``connection=`` takes an open DB-API connection
(sqlite3 or psycopg 3) to the database the app uses.

    python examples/howto/transactional_enqueue.py
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

import rota

URL = os.environ.get("ROTA_DATABASE_URL", "sqlite:///rota.db")
app = rota.App(database=URL)
MARK = "?" if URL.startswith("sqlite") else "%s"  # the driver's parameter style


@app.job
def send_receipt(order_id: int) -> str:
    return f"receipt for order {order_id}"


def connect() -> Any:
    """Your application's own connection to the same database."""
    if URL.startswith("sqlite"):
        return sqlite3.connect(URL.removeprefix("sqlite:///"))
    import psycopg

    return psycopg.connect(URL)


def place_order(conn: Any, order_id: int, fail: bool) -> None:
    cur = conn.cursor()
    cur.execute(f"INSERT INTO shop_orders (id) VALUES ({MARK})", (order_id,))  # your writes
    send_receipt.configure(connection=conn).enqueue(order_id=order_id)  # in the same transaction
    if fail:
        conn.rollback()  # the order and its run are gone together
    else:
        conn.commit()  # both are stored, and the run can start


def main() -> None:
    app.store  # noqa: B018 (creates rota's tables, so the first transaction can write to them)
    conn = connect()
    try:
        conn.cursor().execute("CREATE TABLE IF NOT EXISTS shop_orders (id INTEGER)")
        conn.commit()
        place_order(conn, 1, fail=False)
        place_order(conn, 2, fail=True)
    finally:
        conn.close()
    print(app.drain())
    print([(run.args, run.result) for run in app.runs.list()])


if __name__ == "__main__":
    main()
# {'succeeded': 1}
# [({'order_id': 1}, 'receipt for order 1')]
