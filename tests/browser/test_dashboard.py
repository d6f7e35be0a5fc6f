"""The dashboard in a real browser, against a real server whose worker runs the runs.

Logging in and finding each section; a failed run's traceback and ``Retry``, after which the
page follows the run to ``succeeded`` on its own; ``Retry all`` on a filtered list, asked
first; a schedule's ``Pause``, ``Resume`` and ``Trigger now``; ``Restart`` of a failed batch
execution; the progress bar. One server per backend serves the whole module (``live``).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.support import wait_until
from tests.web.conftest import TOKEN

from .conftest import login, submit_token
from .live import Live

# one xdist process runs this module: its tests share the live servers and the browser
pytestmark = pytest.mark.xdist_group("test_dashboard")

SECTIONS = {
    "Runs": "Runs",
    "Schedules": "Schedules",
    "Batch": "Batch executions",
    "Queues": "Queues",
    "Workflows": "Workflows",
    "Nodes": "Nodes",
}
LIVE_MS = 5_000  # the contract: states and counts update on their own within 5 s


def test_the_token_logs_in_and_each_section_link_reaches_its_page(live: Live, page: Page) -> None:
    page.goto(live.url + "/")
    expect(page).to_have_title("rota: log in")
    submit_token(page, TOKEN)
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    sections = page.get_by_role("navigation", name="Sections")
    for name, heading in SECTIONS.items():
        sections.get_by_role("link", name=name, exact=True).click()
        expect(page).to_have_url(f"{live.url}/{name.lower()}")
        expect(page).to_have_title(f"{name} · rota")
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        link = sections.get_by_role("link", name=name, exact=True)
        expect(link).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name="Overview", exact=True).click()
    expect(page).to_have_url(live.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    page.get_by_role("link", name=re.compile(r"^failed\s*[\d,]+\+?$")).click()  # its count
    expect(page).to_have_url(f"{live.url}/runs?state=failed")
    expect(page.get_by_label("State")).to_have_value("failed")


RUN_STATE = "[data-live='run-head'] .current .state"  # a run's state, in a live region


def test_a_link_to_a_filtered_list_keeps_its_filters_through_the_login(
    live: Live, page: Page
) -> None:
    path = "/runs?state=failed&job=flaky"  # a bookmark, or a link in a chat
    login(page, live.server, path=path)  # waits until the page is back at the whole link
    expect(page.get_by_label("State")).to_have_value("failed")
    expect(page.get_by_label("Job")).to_have_value("flaky")
    expect(page.get_by_role("button", name="Retry all")).to_be_visible()


def test_retry_of_a_failed_run_then_the_page_follows_it_to_succeeded(
    live: Live, page: Page
) -> None:
    key = live.key("held")
    run_id = live.launch("flaky", key=key, hold=True)
    live.wait_state(run_id, "failed")
    login(page, live.server, path=f"/runs/{run_id}")
    state = page.locator(RUN_STATE)
    expect(state).to_have_text("failed")
    traceback = page.locator("pre").filter(has_text="Traceback (most recent call last)")
    expect(traceback).to_contain_text(f"RuntimeError: the first attempt of {key} fails on purpose")
    assert "monospace" in traceback.evaluate("pre => getComputedStyle(pre).fontFamily")

    with page.expect_navigation() as action:  # the form's post, answered 303 back to the run
        page.get_by_role("button", name="Retry", exact=True).click()
    assert action.value is not None and action.value.status == 200
    expect(page).to_have_url(f"{live.url}/runs/{run_id}?done=retried")
    expect(page.get_by_role("status")).to_have_text("Run put back in the queue.")
    expect(state).to_have_text(re.compile("^(queued|running)$"))  # held by the job

    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.evaluate("window.sameDocument = 'yes'")
    live.release(key)
    expect(state).to_have_text("succeeded", timeout=LIVE_MS)
    assert page.evaluate("window.sameDocument") == "yes", "the page was reloaded"
    assert navigations == [], navigations
    expect(page.get_by_role("button", name="Retry", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Delete", exact=True)).to_be_visible()
    expect(page.locator("[data-live='run-body']")).to_contain_text(f'"{key} done"')


def test_copy_traceback_puts_the_traceback_on_the_clipboard(live: Live, page: Page) -> None:
    run_id = live.failed_run()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    login(page, live.server, path=f"/runs/{run_id}")
    shown = page.locator("pre").filter(has_text="Traceback (most recent call last)")
    page.get_by_role("button", name="Copy traceback").click()
    expect(page.locator(".traceback").get_by_role("button")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == shown.text_content(), copied
    assert "RuntimeError: the first attempt of" in copied


def test_retry_all_asks_first_says_how_many_and_the_runs_end_succeeded(
    live: Live, page: Page
) -> None:
    runs = [live.failed_run("bulk") for _ in range(3)]
    login(page, live.server, path="/runs")
    with page.expect_navigation():  # the filters apply as soon as one is chosen
        page.get_by_label("State").select_option("failed")
    with page.expect_navigation():
        page.get_by_label("Job").select_option("bulk")
    rows = page.locator("[data-live='runs'] tbody tr")
    expect(rows).to_have_count(3)
    for run_id in runs:
        expect(page.get_by_role("link", name=f"#{run_id}", exact=True)).to_be_visible()

    questions: list[str] = []

    def answer(dialog: Dialog) -> None:
        questions.append(dialog.message)
        if len(questions) == 1:
            dialog.dismiss()
        else:
            dialog.accept()

    page.on("dialog", answer)
    listed = page.url
    page.get_by_role("button", name="Retry all").click()  # dismissed: nothing is sent
    assert questions == ["Retry every failed run of job bulk?"], questions
    assert page.url == listed
    assert [live.state(run_id) for run_id in runs] == ["failed"] * 3

    with page.expect_navigation():
        page.get_by_role("button", name="Retry all").click()
    assert len(questions) == 2
    expect(page.get_by_role("status")).to_have_text("Retried 3 runs.")
    for run_id in runs:
        live.wait_state(run_id, "succeeded")
    expect(page.locator("[data-live='runs']")).to_have_text(
        "No run matches these filters.", timeout=LIVE_MS
    )


def schedule_item(live: Live, name: str) -> dict[str, object]:
    listed = live.server.client.get("/api/schedules").json()["items"]
    [found] = [s for s in listed if s["name"] == name]
    return dict(found)


def test_a_schedule_is_paused_resumed_and_triggered(live: Live, page: Page) -> None:
    name = f"reports/{live.key('nightly')} at 3"  # a slash and a space: names may have them
    live.app.add_schedule(name, "add", cron="0 3 * * *", kwargs={"a": 2, "b": 3})
    login(page, live.server, path="/schedules")
    card = page.get_by_role("article", name=f"{name} runs add")
    upcoming = card.get_by_role("region", name=f"Next fire times of {name}")
    expect(upcoming.get_by_role("listitem")).to_have_count(5)

    def act(button: str, notice: str) -> None:
        with page.expect_navigation():
            card.get_by_role("button", name=button, exact=True).click()
        expect(page).to_have_url(re.compile(r"/schedules\?done="))
        expect(page.get_by_role("status")).to_have_text(notice)

    act("Pause", "Paused.")
    expect(card.locator(".state")).to_have_text("paused")
    expect(upcoming).to_contain_text("Paused: none.")
    expect(card.get_by_role("button", name="Pause", exact=True)).to_have_count(0)
    assert schedule_item(live, name)["paused"] is True

    act("Resume", "Resumed.")
    expect(card.locator(".state")).to_have_text("active")
    expect(upcoming.get_by_role("listitem")).to_have_count(5)
    assert schedule_item(live, name)["paused"] is False

    act("Trigger now", "One run launched now.")
    launched = live.server.client.get("/api/runs", params={"job": "add"}).json()["items"]
    [run] = [r for r in launched if r["schedule"] == name]
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Runs").click()
    with page.expect_navigation():
        page.get_by_label("Job").select_option("add")
    page.get_by_role("link", name=f"#{run['id']}", exact=True).click()
    expect(page).to_have_url(f"{live.url}/runs/{run['id']}")
    expect(page.locator(RUN_STATE)).to_have_text("succeeded", timeout=LIVE_MS)
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(f"Schedule{name}")
    expect(page.locator("[data-live='run-body']")).to_contain_text("5")  # its result: 2 + 3


def test_a_failed_batch_execution_is_restarted_and_completes(live: Live, page: Page) -> None:
    old = live.failed_execution()
    login(page, live.server, path="/batch")
    page.get_by_role("link", name=f"#{old}", exact=True).click()
    expect(page).to_have_url(f"{live.url}/batch/{old}")
    execution = page.locator("[data-live='execution']")
    expect(execution.locator(".current .state")).to_have_text("failed")
    load = execution.locator("tbody tr").filter(has_text="load").first
    expect(load).to_contain_text("failed")
    expect(execution).to_contain_text("fails on purpose")

    with page.expect_navigation():
        page.get_by_role("button", name="Restart", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Execution restarted.")
    found = re.fullmatch(rf"{re.escape(live.url)}/batch/(\d+)\?done=restarted", page.url)
    assert found, page.url
    new = int(found.group(1))
    assert new != old
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Execution #{new}")
    expect(execution.locator(".current .state")).to_have_text("completed", timeout=LIVE_MS)
    expect(execution.get_by_role("link", name=f"#{old}", exact=True)).to_be_visible()
    expect(execution.locator("tbody tr").filter(has_text="load").first).to_contain_text("completed")
    expect(page.get_by_role("button", name="Restart", exact=True)).to_have_count(0)
    assert live.execution(new)["state"] == "completed"


def test_the_progress_bar_is_a_progressbar_that_moves_on_its_own(live: Live, page: Page) -> None:
    key = live.key("steps")
    run_id = live.launch("steps", key=key)
    wait_until(lambda: live.run(run_id)["progress"], 20, "the job to report its progress")
    login(page, live.server, path=f"/runs/{run_id}")
    bar = page.get_by_role("progressbar", name="Progress")
    expect(bar).to_have_attribute("aria-valuenow", "75")
    expect(bar).to_have_attribute("aria-valuemin", "0")
    expect(bar).to_have_attribute("aria-valuemax", "100")
    expect(bar).to_have_attribute("aria-valuetext", "3 of 4 · three of four")
    expect(bar).to_contain_text("3 of 4 · three of four")
    live.release(key)
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=LIVE_MS)
    expect(bar).to_have_attribute("aria-valuetext", "4 of 4 · all four")
    expect(page.locator(RUN_STATE)).to_have_text("succeeded")
