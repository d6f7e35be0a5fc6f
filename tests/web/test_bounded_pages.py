"""Pages and lists whose cost must follow the page, not the table, over real HTTP.

A search over arguments reads SEARCH_SCOPE run ids at a time (no index serves it): the REST
API's next cursor and the dashboard's ``Search older runs`` carry it on below what it read.
The nodes page counts each node's running runs in the database instead of loading them.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

import rota
from rota.limits import SEARCH_SCOPE
from tests.support import wait_until

from .conftest import Server, start_server


def seeded(api: httpx.Client, local_app: rota.App) -> tuple[int, list[int]]:
    """One run with ``needle`` in its arguments, then SEARCH_SCOPE + 5 newer runs without."""
    made = api.post("/api/jobs/boom/runs", json={"args": {"message": "a needle here"}})
    assert made.status_code == 201, made.text
    newer = local_app.get_job("add").enqueue_many([{"a": n} for n in range(SEARCH_SCOPE + 5)])
    return int(made.json()["id"]), newer


def test_api_search_reads_its_scope_then_its_cursor_searches_older_runs(
    api: httpx.Client, local_app: rota.App
) -> None:
    needle, newer = seeded(api, local_app)
    floor = newer[-1] + 1 - SEARCH_SCOPE  # the oldest id the first page reads
    assert needle < floor

    first = api.get("/api/runs", params={"search": "NEEDLE"}).json()
    assert first == {"items": [], "next_cursor": str(floor)}
    past = api.get("/api/runs", params={"search": "needle", "cursor": str(newer[-1] + 10**9)})
    assert past.json() == first  # a cursor past the newest run reads from the newest one
    older = api.get("/api/runs", params={"search": "needle", "cursor": first["next_cursor"]})
    assert [r["id"] for r in older.json()["items"]] == [needle]
    assert older.json()["next_cursor"] is None  # it reached the first run

    full = api.get("/api/runs", params={"search": '"a"', "limit": 3}).json()  # fills its page
    assert [r["id"] for r in full["items"]] == newer[-1:-4:-1]
    assert full["next_cursor"] == str(newer[-3])


def test_dashboard_search_says_what_it_read_and_links_to_older_runs(
    api: httpx.Client, local_app: rota.App
) -> None:
    needle, newer = seeded(api, local_app)
    floor = newer[-1] + 1 - SEARCH_SCOPE
    page = api.get("/runs", params={"search": "needle"})
    assert page.status_code == 200, page.text
    assert "No run matches these filters among these runs." in page.text
    assert f"runs older than #{floor} were not searched" in page.text
    link = re.search(r'<a href="([^"]+)">Search older runs</a>', page.text)
    assert link, page.text
    older = api.get(link.group(1).replace("&amp;", "&"))
    assert f'href="/runs/{needle}"' in older.text
    assert "Search older runs" not in older.text and "were not searched" not in older.text


def running_count(api: httpx.Client) -> str | None:
    found = re.search(r'data-label="Running runs">([^<]*)<', api.get("/nodes").text)
    return found.group(1) if found else None


def test_nodes_page_counts_each_nodes_running_runs(tmp_path: Path, database_url: str) -> None:
    server: Server = start_server(tmp_path, database_url, node=True)
    try:
        release = tmp_path / "release"
        made = server.client.post("/api/jobs/block/runs", json={"args": {"path": str(release)}})
        run = made.json()["id"]
        wait_until(
            lambda: server.client.get(f"/api/runs/{run}").json()["state"] == "running", 30, "run"
        )
        assert wait_until(lambda: running_count(server.client) == "1", 20, "a count of 1")
        release.touch()
        assert wait_until(lambda: running_count(server.client) == "0", 30, "a count of 0")
    finally:
        server.stop()
