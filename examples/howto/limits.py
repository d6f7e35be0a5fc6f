"""How-to: limits and queues (docs/how-to/limits-and-queues.md; tests/examples runs it).

Limits hold across every node sharing the database, decided inside the claim: a run over a
limit stays queued without holding up the runs of other groups behind it.

    python examples/howto/limits.py
"""

from __future__ import annotations

import rota

app = rota.App()  # ROTA_DATABASE_URL, else sqlite:///rota.db


@app.job(concurrency=1, concurrency_key="customer_id")  # one at a time per customer
def sync_customer(customer_id: int) -> None: ...


@app.job(concurrency=5, rate_limit=(100, 60))  # 5 running at once, 100 starts a minute
def call_partner_api(url: str) -> None: ...


@app.job(queue="mail", rate_limit=(10, 1), rate_key="domain")  # 10 a second per domain
def send_mail(to: str, domain: str) -> str:
    return f"sent to {to}"


def main() -> None:
    app.queues.pause("mail")  # no node starts a new run from it; running runs finish
    handle = send_mail.enqueue(to="a@example.com", domain="example.com")
    sync_customer.enqueue(customer_id=1)
    print(app.drain())  # sync_customer ran; the mail run waits in its paused queue
    app.queues.set("mail", concurrency=5, rate_limit=(100, 60))  # cluster-wide queue limits
    for q in app.queues.list():
        print(q.name, q.paused, q.concurrency, q.rate_limit, q.rate_period, q.queued)
    app.queues.resume("mail")
    print(app.drain(), handle.result(timeout=10))


if __name__ == "__main__":
    main()
# {'succeeded': 1}
# default False None None None 0
# mail True 5 100 60.0 1
# {'succeeded': 1} sent to a@example.com
