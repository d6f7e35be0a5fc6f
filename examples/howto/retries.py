"""How-to: retries and idempotency (docs/how-to/retries.md; tests/examples runs it).

A job is retried with backoff when it raises; it may ask for a delay (rota.Retry), give up at
once (rota.Discard), and a launch with a unique key is not duplicated while its run is live.
Since an attempt may run more than once, the job writes its effect idempotently.

    python examples/howto/retries.py
"""

from __future__ import annotations

import sqlite3

import rota

app = rota.App()  # ROTA_DATABASE_URL, else sqlite:///rota.db
ledger = sqlite3.connect(":memory:", check_same_thread=False)
ledger.execute("CREATE TABLE charges (order_id INTEGER PRIMARY KEY, amount INTEGER)")
calls: dict[int, int] = {}


@app.job(max_attempts=4, backoff=rota.Backoff(base=0.01, cap=0.05))
def charge(order_id: int, amount: int) -> str:
    """At-least-once: record the charge so that running the attempt again changes nothing."""
    calls[order_id] = calls.get(order_id, 0) + 1
    with ledger:  # the order id is the key: a second attempt finds the row and does no harm
        ledger.execute(
            "INSERT INTO charges VALUES (?, ?) ON CONFLICT (order_id) DO NOTHING",
            (order_id, amount),
        )
    if calls[order_id] == 1:
        raise ConnectionError("the payment API timed out")  # retried after the backoff
    if calls[order_id] == 2:
        raise rota.Retry(after=0.05)  # "come back later": retried after that delay
    return f"charged order {order_id}"


@app.job
def validate(order_id: int) -> None:
    """Retrying would not help: fail the run now, with the reason in its errors."""
    raise rota.Discard(f"order {order_id} has no items")


def main() -> None:
    run = charge.enqueue(order_id=7, amount=500)
    same = charge.configure(unique_key="order-9").enqueue(order_id=9, amount=200)
    again = charge.configure(unique_key="order-9").enqueue(order_id=9, amount=200)
    print("unique key:", same.id == again.id, again.created)  # the live run, not a new one
    bad = validate.enqueue(order_id=8)
    while not (run.state().terminal and same.state().terminal and bad.state().terminal):
        app.drain()  # a test's worker: every due run, until none is due
    print(run.state(), run.run().attempt, [e["type"] for e in run.run().errors])
    print(bad.state(), bad.run().errors[0]["message"])
    print("charges:", ledger.execute("SELECT count(*) FROM charges").fetchone()[0])


if __name__ == "__main__":
    main()
# unique key: True False
# succeeded 3 ['ConnectionError', 'Retry']
# failed order 8 has no items
# charges: 2
