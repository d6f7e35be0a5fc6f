"""``app.asgi()`` mounted under a prefix in a user's Starlette app: every path moves with it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx

from tests.support import Process, free_port, spawn

from .conftest import TOKEN, assert_docs_offline
from .webapp import SOURCE

HOST_APP = """
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

sys.path.insert(0, sys.argv[1])
from mounted_app import app

app.use_database(sys.argv[2])


async def home(request):
    return PlainTextResponse("the user's own page")


site = Starlette(routes=[Route("/", home), Mount("/jobs-admin", app=app.asgi(token=sys.argv[4]))])
uvicorn.run(site, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


def test_mounted_under_a_prefix(tmp_path: Path, database_url: str) -> None:
    (tmp_path / "mounted_app.py").write_text(SOURCE)
    (tmp_path / "site.py").write_text(HOST_APP)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "ROTA_API_TOKEN"}
    log = tmp_path / "site.log"
    argv = [sys.executable, "site.py", str(tmp_path), database_url, str(port), TOKEN]
    site = Process("the site", spawn(argv, log, cwd=tmp_path, env=env), log)
    try:

        def up() -> bool:
            try:
                return httpx.get(f"{base}/jobs-admin/api/health").status_code == 200
            except httpx.HTTPError:
                return False

        site.wait_for(up, 60, "the mounted API")
        assert site.alive(), site.log()
        assert httpx.get(f"{base}/").text == "the user's own page"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=f"{base}/jobs-admin", headers=auth) as api:
            assert httpx.get(f"{base}/jobs-admin/api/jobs").status_code == 401
            run = api.post("/api/jobs/add/runs", json={"args": {"a": 1}})
            assert run.status_code == 201
            assert api.get(f"/api/runs/{run.json()['id']}").json()["args"] == {"a": 1}
            assert api.get("/api/openapi.json").json()["paths"]["/api/runs"]
            assert "/jobs-admin/api/openapi.json" in api.get("/api/docs").text
            assert_dashboard_under_the_prefix(api, run.json()["id"])
            assert api.get("/api/nope").json()["error"]["code"] == "not_found"
            assert api.get("/metrics").status_code == 200
        with httpx.Client(base_url=base, headers=auth) as site_client:
            assert_docs_offline(site_client, "/jobs-admin")
        assert_logs_in_under_the_prefix(base)
    finally:
        site.stop()


def assert_logs_in_under_the_prefix(base: str) -> None:
    """The login form posts under the prefix; its cookie is scoped to it and opens the docs."""
    with httpx.Client(base_url=base) as browser:
        form = browser.get("/jobs-admin/api/docs")
        assert form.status_code == 401
        assert '<form method="post" action="/jobs-admin/login">' in form.text
        done = browser.post("/jobs-admin/login", data={"token": TOKEN, "next": "/api/docs"})
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/jobs-admin/api/docs"
        cookie = done.headers["set-cookie"]
        assert "Path=/jobs-admin;" in cookie or cookie.endswith("Path=/jobs-admin"), cookie
        value = cookie.split(";", 1)[0].partition("=")[2]
        session = {"Cookie": f"rota_session={value}"}
        with httpx.Client(base_url=base, headers=session) as logged_in:
            assert_docs_offline(logged_in, "/jobs-admin")
            assert logged_in.get("/jobs-admin/api/runs").status_code == 401


def assert_dashboard_under_the_prefix(api: httpx.Client, run_id: int) -> None:
    """Every link, asset and form of the dashboard stays under the prefix."""
    page = api.get("/")
    assert page.status_code == 200
    for name in ("runs", "schedules", "batch", "queues", "workflows", "nodes"):
        assert f'href="/jobs-admin/{name}"' in page.text, name
    assert api.get("/static/rota.css").status_code == 200
    assert 'src="/jobs-admin/static/rota.js"' in page.text
    run_page = api.get(f"/runs/{run_id}")
    assert f'action="/jobs-admin/runs/{run_id}/cancel"' in run_page.text or (
        f'action="/jobs-admin/runs/{run_id}/delete"' in run_page.text
    )
    cookie = page.headers["set-cookie"]  # the CSRF secret, scoped to the prefix
    assert "rota_csrf=" in cookie, cookie
    assert "Path=/jobs-admin;" in cookie or cookie.endswith("Path=/jobs-admin"), cookie
