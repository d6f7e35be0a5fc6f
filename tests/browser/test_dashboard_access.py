"""The dashboard's refusals and reach in a real browser: a forged post and the read-only
token are refused (403) and nothing changes; every page fits a phone with no console error;
the keyboard reaches every action with a visible focus; every form control has a name.

One server per backend serves the whole module (``live``); ``pages`` seeds what the pages show.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import READ_TOKEN

from .conftest import BrowserErrors, login, no_sideways_scroll
from .live import Live

# one xdist process runs this module: its tests share the live servers and the browser
pytestmark = pytest.mark.xdist_group("test_dashboard_access")

READ_ONLY = "The read-only token may look at everything, not act."
CONTROLS = "button, select, textarea, input:not([type=hidden])"
CONTROL_ROLES = {"button", "combobox", "textbox", "searchbox", "checkbox", "radio", "listbox"}
MIN_OUTLINE_PX = 2.0


class Seeded:
    """What the pages show: a failed run with a traceback, a schedule, a failed execution, a
    failed workflow."""

    def __init__(self, live: Live) -> None:
        self.run = live.failed_run("flaky")
        self.schedule = live.key("hourly")
        live.app.add_schedule(self.schedule, "add", cron="0 * * * *", kwargs={"a": 1})
        self.execution = live.failed_execution()
        self.workflow = live.failed_workflow()

    @property
    def paths(self) -> list[str]:
        return [
            "/",
            "/runs",
            "/runs?state=failed",
            f"/runs/{self.run}",
            "/schedules",
            "/batch",
            f"/batch/{self.execution}",
            "/queues",
            "/workflows",
            f"/workflows/{self.workflow}",
            "/nodes",
        ]


@pytest.fixture(scope="module")
def seeded(live: Live) -> Seeded:
    return Seeded(live)


def test_a_forged_post_without_the_pages_csrf_token_is_refused(
    live: Live, page: Page, browser_errors: BrowserErrors
) -> None:
    run_id = live.failed_run()
    login(page, live.server, path=f"/runs/{run_id}")  # logged in: the cookies are all there
    action = f"{live.url}/runs/{run_id}/retry"
    forged: list[dict[str, str | float | bool]] = [{"note": "no token"}, {"csrf": "A" * 43}]
    for form in forged:
        refused = page.request.post(action, form=form, max_redirects=0)
        assert refused.status == 403, (form, refused.status)
        assert "CSRF" in refused.text()

    script = "path => fetch(path, {method: 'POST', body: new URLSearchParams({csrf: 'x'})})"
    status = page.evaluate(f"path => ({script})(path).then(r => r.status)", action)
    assert status == 403
    [logged] = browser_errors.take()  # Chromium logs the refused fetch
    assert "status of 403" in logged, logged
    assert live.state(run_id) == "failed"  # nothing was done

    secret = page.locator("input[name=csrf]").first.input_value()  # what the page's forms carry
    done = page.request.post(action, form={"csrf": secret}, max_redirects=0)
    assert done.status == 303, done.status
    assert done.headers["location"] == f"/runs/{run_id}?done=retried"
    live.wait_state(run_id, "succeeded")


def refused(page: Page, live: Live, button: str, path: str) -> None:
    """Open ``path``, press ``button`` (accepting any question) and see it refused: 403."""
    page.goto(live.url + path)
    with page.expect_navigation() as posted:
        page.get_by_role("button", name=button, exact=True).first.click()
    assert posted.value is not None and posted.value.status == 403, (button, path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Refused")
    expect(page.get_by_role("alert")).to_have_text(READ_ONLY)


def test_the_read_only_token_is_refused_every_action_and_nothing_changes(
    live: Live, seeded: Seeded, page: Page
) -> None:
    run_id = live.failed_run()
    login(page, live.server, READ_TOKEN, path=f"/runs/{run_id}")
    expect(page.get_by_role("status")).to_contain_text("Read-only token")
    page.on("dialog", lambda dialog: dialog.accept())
    for button, path in (
        ("Retry", f"/runs/{run_id}"),
        ("Delete", f"/runs/{run_id}"),
        ("Retry all", "/runs?state=failed"),
        ("Pause", "/schedules"),
        ("Trigger now", "/schedules"),
        ("Restart", f"/batch/{seeded.execution}"),
        ("Abandon", f"/batch/{seeded.execution}"),
        ("Retry", f"/workflows/{seeded.workflow}"),
    ):
        refused(page, live, button, path)
    assert live.state(run_id) == "failed"
    assert live.state(seeded.run) == "failed"
    schedules = live.server.client.get("/api/schedules").json()["items"]
    assert [s["paused"] for s in schedules if s["name"] == seeded.schedule] == [False]
    assert live.app.schedules.fires(seeded.schedule) == []
    launched = live.server.client.get("/api/runs", params={"job": "add"}).json()["items"]
    assert [r for r in launched if r["schedule"] == seeded.schedule] == []
    assert live.execution(seeded.execution)["state"] == "failed"
    executions = live.server.client.get("/api/batch/executions").json()["items"]
    assert [e for e in executions if e.get("restart_of") == seeded.execution] == []
    assert live.workflow_state(seeded.workflow) == "failed"


def live_refreshes(page: Page, requests: list[str], ms: int) -> int:
    """Let ``ms`` of the page's (installed) clock pass; how many live refreshes it asked for."""
    before = len(requests)
    page.clock.run_for(ms)
    page.evaluate("fetch('/api/health').then(r => r.status)")  # after any request started
    return len(requests) - before


def test_a_refused_page_does_not_refresh_itself(
    live: Live, seeded: Seeded, page: Page, browser_errors: BrowserErrors
) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "x-rota-live" in r.headers else None)
    page.clock.install()
    login(page, live.server, READ_TOKEN, path=f"/runs/{seeded.run}")
    assert live_refreshes(page, requests, 3_500) >= 1  # a page of the dashboard refreshes
    refused(page, live, "Retry", f"/runs/{seeded.run}")  # its address: the action's
    assert live_refreshes(page, requests, 10_000) == 0, requests[-1:]
    assert browser_errors.messages == []


def test_every_page_fits_a_phone_with_no_console_error(
    live: Live, seeded: Seeded, phone_page: Page, browser_errors: BrowserErrors
) -> None:
    login(phone_page, live.server)
    for path in seeded.paths:
        response = phone_page.goto(live.url + path)
        assert response is not None and response.status == 200, path
        expect(phone_page.get_by_role("heading", level=1)).to_be_visible()
        no_sideways_scroll(phone_page)
        assert browser_errors.messages == [], path


FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const seen = el.hasAttribute("data-tabbed");
  el.setAttribute("data-tabbed", "");
  return {
    seen, tag: el.tagName.toLowerCase(), text: el.textContent.trim().slice(0, 40),
    label: el.getAttribute("aria-label") || "",
    focusVisible: el.matches(":focus-visible"), outline: style.outlineStyle,
    width: parseFloat(style.outlineWidth), shadow: style.boxShadow,
  };
}"""


def tab_through(page: Page, limit: int = 80) -> list[dict[str, Any]]:
    """Every element the Tab key reaches on ``page``, in order, with its focus style."""
    reached: list[dict[str, Any]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS)
        if focused is None or focused["seen"]:
            return reached
        reached.append(focused)
    raise AssertionError(f"Tab did not come round in {limit} presses: {reached}")


def visible_focus(element: dict[str, Any]) -> bool:
    outlined = element["outline"] != "none" and element["width"] >= MIN_OUTLINE_PX
    return bool(element["focusVisible"]) and (outlined or element["shadow"] != "none")


@pytest.mark.parametrize(
    ("path", "buttons"),
    [
        ("/runs/{run}", ["Retry", "Delete", "Copy traceback"]),
        ("/runs?state=failed", ["Apply filters", "Retry all"]),
        ("/schedules", ["Pause", "Trigger now"]),
        ("/batch/{execution}", ["Restart", "Abandon"]),
    ],
)
def test_the_keyboard_reaches_every_action_with_a_visible_focus(
    live: Live, seeded: Seeded, page: Page, path: str, buttons: list[str]
) -> None:
    path = path.format(run=seeded.run, execution=seeded.execution)
    login(page, live.server, path=path)
    reached = tab_through(page)
    names = [e["text"] for e in reached if e["tag"] == "button"]
    for button in buttons:
        assert button in names, (button, names)
    tags = {e["tag"] for e in reached}
    assert {"a", "button"} <= tags, tags
    hidden = [e for e in reached if not visible_focus(e)]
    assert hidden == [], f"focus not visible on {path}: {hidden}"


def test_a_keyboard_user_picks_a_filter_with_the_arrow_keys_then_applies_it(
    live: Live, seeded: Seeded, page: Page
) -> None:
    login(page, live.server, path="/runs")
    listed = page.url
    state = page.get_by_label("State")
    state.focus()
    for _ in range(10):  # "failed" is a few options down: each step stays on the page
        page.keyboard.press("ArrowDown")
        expect(state).to_be_focused()
        assert page.url == listed, "the list changed under the keyboard while choosing"
        if state.input_value() == "failed":
            break
    expect(state).to_have_value("failed")
    apply = page.get_by_role("button", name="Apply filters")
    for _ in range(10):
        page.keyboard.press("Tab")
        if apply.evaluate("button => button === document.activeElement"):
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "state=failed" in page.url, page.url
    expect(page.get_by_label("State")).to_have_value("failed")
    expect(page.get_by_role("link", name=f"#{seeded.run}", exact=True)).to_be_visible()


def unnamed_controls(page: Page) -> tuple[int, list[str]]:
    """How many form controls the accessibility tree of ``page`` has, and those without a name
    (as a screen reader gets them: the browser's own computation)."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    controls = [
        n for n in nodes if not n.get("ignored") and n.get("role", {}).get("value") in CONTROL_ROLES
    ]
    unnamed = [
        n["role"]["value"] for n in controls if not str(n.get("name", {}).get("value", "")).strip()
    ]
    return len(controls), unnamed


def test_every_form_control_has_an_accessible_name(live: Live, seeded: Seeded, page: Page) -> None:
    page.goto(live.url + "/")  # the login form first
    count, unnamed = unnamed_controls(page)
    assert count == 2 and unnamed == [], (count, unnamed)
    login(page, live.server)
    for path in seeded.paths:
        page.goto(live.url + path)
        count, unnamed = unnamed_controls(page)
        in_dom = page.locator(CONTROLS).count()
        assert count == in_dom, (path, count, in_dom)  # every control is in the tree
        assert unnamed == [], (path, unnamed)
    page.goto(live.url + "/runs")
    for label in ("State", "Job", "Queue", "Search arguments"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    assert re.search(r"/runs$", page.url)
