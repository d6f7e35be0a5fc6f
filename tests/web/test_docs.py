"""/api/docs works offline and, with a token set, opens in a browser after a login form."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from .conftest import TOKEN, Server, assert_docs_offline, error_of, start_server

COOKIE = "rota_session"


def log_in(
    server: Server, token: str, next_path: str = "/api/docs", headers: dict[str, str] | None = None
) -> httpx.Response:
    with httpx.Client(base_url=server.url, headers=headers) as browser:
        return browser.post(
            "/login", data={"token": token, "next": next_path}, follow_redirects=False
        )


def session_cookie(response: httpx.Response) -> str:
    [header] = response.headers.get_list("set-cookie")
    name, _, rest = header.partition("=")
    assert name == COOKIE, header
    return rest.split(";", 1)[0]


def assert_login_form(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "set-cookie" not in response.headers
    page = response.text
    assert re.search(r'<label for="token">Token</label>', page), page
    assert re.search(r'<input id="token" name="token" type="password"', page), page
    assert '<button type="submit">Log in</button>' in page, page
    action = re.search(r'<form method="post" action="([^"]+)">', page)
    assert action is not None, page
    return action.group(1)


def test_docs_and_their_assets_are_served_here(server: Server) -> None:
    assert_docs_offline(server.client)


def test_docs_open_in_a_browser_after_logging_in(server: Server) -> None:
    with httpx.Client(base_url=server.url) as anonymous:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Cookie": "rota_session=1.x"}):
            assert assert_login_form(anonymous.get("/api/docs", headers=headers)) == "/login"
            assert error_of(anonymous.get("/api/openapi.json", headers=headers), 401)
    done = log_in(server, TOKEN)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/api/docs"
    header = done.headers["set-cookie"].lower()
    for attribute in ("httponly", "samesite=strict", "path=/", "max-age="):
        assert attribute in header, header
    assert "secure" not in header  # plain HTTP here; set under HTTPS:
    behind_tls = log_in(server, TOKEN, headers={"X-Forwarded-Proto": "https"})  # a local proxy
    assert "; secure" in behind_tls.headers["set-cookie"].lower()
    cookie = {"Cookie": f"{COOKIE}={session_cookie(done)}"}
    with httpx.Client(base_url=server.url, headers=cookie) as browser:
        assert_docs_offline(browser)


def test_the_login_cookie_opens_no_api_call(server: Server) -> None:
    """The cookie opens the pages (the dashboard's own actions need their CSRF token too)."""
    cookie = {"Cookie": f"{COOKIE}={session_cookie(log_in(server, TOKEN))}"}
    with httpx.Client(base_url=server.url, headers=cookie) as browser:
        assert browser.get("/api/docs").status_code == 200
        assert browser.get("/").status_code == 200
        for method, path in [
            ("GET", "/api/runs"),
            ("GET", "/api/jobs"),
            ("POST", "/api/jobs/add/runs"),
            ("POST", "/api/docs"),
            ("GET", "/metrics"),
        ]:
            response = browser.request(method, path, json={"args": {"a": 1}})
            assert error_of(response, 401)["code"] == "unauthorized", (method, path)
    assert server.client.get("/api/runs").json()["items"] == []  # and nothing was launched


def test_a_wrong_token_sets_no_cookie(server: Server) -> None:
    for given in ("wrong", TOKEN + "x", "", TOKEN[:-1]):
        assert_login_form(log_in(server, given))
    with httpx.Client(base_url=server.url) as browser:
        many = browser.post("/login", content="&".join(f"f{i}=1" for i in range(50)))
        assert_login_form(many)


def test_only_a_cookie_issued_for_this_token_counts(server: Server) -> None:
    from rota.web import auth  # how the server signs its cookies

    now = time.time()
    tokens = auth.Tokens(TOKEN)
    forged = [
        auth.issue(auth.Tokens("another-token"), "admin", now),  # before the token was changed
        auth.issue(tokens, "admin", now - auth.SESSION_SECONDS - 5),  # expired
        auth.issue(tokens, "admin", now + 3600),  # from the future
        auth.issue(tokens, "admin", now).replace("admin.", "read.", 1),  # another role's
        "garbage",
        f"{int(now)}.",
        f"admin.{int(now)}.",
    ]
    with httpx.Client(base_url=server.url) as browser:
        for value in forged:
            response = browser.get("/api/docs", headers={"Cookie": f"{COOKIE}={value}"})
            assert_login_form(response)
        good = {"Cookie": f"other=1; {COOKIE}={auth.issue(tokens, 'admin', now)}"}
        assert browser.get("/api/docs", headers=good).status_code == 200


def test_login_goes_back_only_to_this_app(server: Server) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "docs"):
        response = log_in(server, TOKEN, target)
        assert response.status_code == 303
        assert response.headers["location"] == "/", target


def test_without_a_token_docs_need_no_login(tmp_path: Path, database_url: str) -> None:
    server = start_server(tmp_path, database_url, token=None)
    try:
        with httpx.Client(base_url=server.url) as anonymous:
            assert_docs_offline(anonymous)
            skipped = anonymous.get("/login?next=/api/docs", follow_redirects=False)
            assert (skipped.status_code, skipped.headers["location"]) == (303, "/api/docs")
    finally:
        assert server.stop() == 0
