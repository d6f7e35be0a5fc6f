"""The login form in a real browser: /api/docs behind a token, and at phone width.

Also checks that this folder's checks can fail: a page's console error and uncaught exception
are caught, and so is a page wider than the phone.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.conftest import Server

from .conftest import BrowserErrors, login, no_sideways_scroll, submit_token

TOKEN_FORM = "This page needs the server's API token."
WRONG = "That token is not right."


def expect_login_form(page: Page) -> None:
    expect(page).to_have_title("rota: log in")
    expect(page.get_by_label("Token")).to_be_editable()
    expect(page.get_by_role("button", name="Log in")).to_be_enabled()


def expect_swagger(page: Page, server: Server) -> None:
    expect(page).to_have_url(server.url + "/api/docs")
    expect(page.get_by_role("heading", name=re.compile(r"rota \(webtest\)"))).to_be_visible()
    runs = page.locator(".opblock-summary-path[data-path='/api/runs']").first
    expect(runs).to_be_visible()  # the OpenAPI document was read with the login cookie


def test_the_docs_ask_for_the_token_then_show_swagger(dashboard: Server, page: Page) -> None:
    page.goto(dashboard.url + "/api/docs")
    expect_login_form(page)
    expect(page.get_by_role("status")).to_have_text(TOKEN_FORM)

    submit_token(page, "not-the-token")
    expect(page.get_by_role("alert")).to_have_text(WRONG)
    expect_login_form(page)
    expect(page.get_by_role("heading", name=re.compile("rota \\(webtest\\)"))).to_have_count(0)

    submit_token(page, dashboard.token or "")
    expect_swagger(page, dashboard)
    page.reload()  # the cookie keeps the browser logged in
    expect_swagger(page, dashboard)


def test_login_helper_lands_on_the_page_asked_for(dashboard: Server, page: Page) -> None:
    login(page, dashboard, path="/api/docs")
    expect_swagger(page, dashboard)


def test_the_login_form_fits_a_phone(dashboard: Server, phone_page: Page) -> None:
    phone_page.goto(dashboard.url + "/api/docs")
    expect_login_form(phone_page)
    no_sideways_scroll(phone_page)
    submit_token(phone_page, "not-the-token")
    expect(phone_page.get_by_role("alert")).to_have_text(WRONG)
    no_sideways_scroll(phone_page)


def test_console_errors_and_uncaught_exceptions_are_caught(
    page: Page, browser_errors: BrowserErrors
) -> None:
    page.set_content("<p>x</p><script>console.error('logged'); null.boom;</script>")
    expect(page.locator("p")).to_have_text("x")
    taken = browser_errors.take()
    assert len(taken) == 2, taken
    assert taken[0] == "console: logged", taken
    assert taken[1].startswith("uncaught: ") and "null" in taken[1], taken
    assert browser_errors.messages == []


def test_a_refused_fetch_is_an_error_but_the_login_page_is_not(
    dashboard: Server, page: Page, browser_errors: BrowserErrors
) -> None:
    page.goto(dashboard.url + "/api/docs")  # answered 401 with the form: not an error
    expect_login_form(page)
    assert browser_errors.messages == []
    status = page.evaluate("fetch('/api/runs').then(r => r.status)")
    assert status == 401
    [taken] = browser_errors.take()
    assert "status of 401" in taken and taken.endswith(f"({dashboard.url}/api/runs)"), taken


def test_a_page_wider_than_a_phone_is_caught(phone_page: Page) -> None:
    phone_page.set_content("<div style='width: 500px'>wide</div>")
    try:
        no_sideways_scroll(phone_page)
    except AssertionError as exc:
        assert "px wide in a 390 px window" in str(exc)
    else:
        raise AssertionError("a 500 px wide page passed at 390 px")
