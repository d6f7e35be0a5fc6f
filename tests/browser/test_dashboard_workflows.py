"""Workflows in a real browser, against a real server whose worker runs the steps: the list,
the graph with every step's state, a failed step's dependents cancelled, ``Retry`` after which
the page follows the workflow to ``succeeded`` on its own, ``Cancel``, the links between a
step's box, its run and its workflow, and the page at phone width. No console error (the
``browser_errors`` fixture fails a test on any). One server per backend (``live``).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

import rota

from .conftest import login, no_sideways_scroll
from .live import Live
from .test_dashboard_access import tab_through, visible_focus

# one xdist process runs this module: its tests share the live servers and the browser
pytestmark = pytest.mark.xdist_group("test_dashboard_workflows")

LIVE_MS = 5_000  # the contract: states update on their own within 5 s
HEAD_STATE = "[data-live='workflow-head'] .current .state"


def test_a_failed_step_cancels_its_dependents_and_retry_carries_the_workflow_through(
    live: Live, page: Page
) -> None:
    key = live.key("held")
    wf = rota.Workflow("checkout")
    wf.add("fetch", "add", {"a": 1})
    wf.add("charge", "flaky", {"key": key, "hold": True}, after=["fetch"])  # fails once
    wf.add("mail", "add", {"a": 2}, after=["fetch"])
    wf.add("report", "add", {"a": 3}, after=["charge", "mail"])
    workflow_id = live.workflow(wf)
    live.wait_workflow(workflow_id, "failed")

    login(page, live.server, path="/workflows")
    row = page.locator("[data-live='workflows'] tbody tr").filter(
        has=page.get_by_role("link", name=f"#{workflow_id}", exact=True)
    )
    expect(row).to_contain_text("checkout")
    expect(row.locator(".state")).to_have_text("failed")
    expect(row).to_contain_text("2 / 4")
    row.get_by_role("link", name=f"#{workflow_id}", exact=True).click()
    expect(page).to_have_url(f"{live.url}/workflows/{workflow_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Workflow #{workflow_id}")

    graph = page.locator("svg.graph")
    expect(graph.locator("a.node")).to_have_count(4)
    expected = {
        "fetch": "succeeded",
        "charge": "failed",
        "mail": "succeeded",
        "report": "cancelled",
    }
    for step, state in expected.items():
        node = graph.get_by_role("link", name=f"Step {step}: {state}")
        expect(node).to_be_visible()
        expect(node.locator("text.step-state")).to_have_text(state)  # the state as text
    expect(graph.locator("path.edge")).to_have_count(4)
    steps = page.locator("[data-live='workflow-body'] tbody tr")
    expect(steps.filter(has_text="report")).to_contain_text("cancelled")
    expect(steps.filter(has_text="report")).to_contain_text("charge, mail")
    expect(page.get_by_role("button", name="Cancel", exact=True)).to_have_count(0)

    with page.expect_navigation() as action:  # the form's post, answered 303 back here
        page.get_by_role("button", name="Retry", exact=True).click()
    assert action.value is not None and action.value.status == 200
    expect(page).to_have_url(f"{live.url}/workflows/{workflow_id}?done=workflow_retry")
    expect(page.get_by_role("status")).to_contain_text("Workflow retried")
    state = page.locator(HEAD_STATE)
    expect(state).to_have_text("running")
    charge = graph.get_by_role("link", name=re.compile(r"^Step charge: (queued|running)$"))
    expect(charge).to_be_visible()  # held by the job
    expect(graph.get_by_role("link", name="Step report: waiting")).to_be_visible()

    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.evaluate("window.sameDocument = 'yes'")
    live.release(key)  # the cause fixed: the held second attempt of charge succeeds
    expect(state).to_have_text("succeeded", timeout=LIVE_MS * 2)  # charge, then report
    for step in expected:
        expect(graph.get_by_role("link", name=f"Step {step}: succeeded")).to_be_visible()
    assert page.evaluate("window.sameDocument") == "yes", "the page was reloaded"
    assert navigations == [], navigations
    expect(page.get_by_role("button", name="Retry", exact=True)).to_have_count(0)

    report = live.app.workflows.show(workflow_id).step("report").run_id
    graph.get_by_role("link", name="Step report: succeeded").click()
    expect(page).to_have_url(f"{live.url}/runs/{report}")
    link = page.get_by_role("link", name=f"Workflow {workflow_id}, step report")
    link.click()
    expect(page).to_have_url(f"{live.url}/workflows/{workflow_id}")


def test_cancel_ends_every_step_not_ended_and_the_page_follows(live: Live, page: Page) -> None:
    key = live.key("patient")
    wf = rota.Workflow("long")
    wf.add("first", "patient", {"key": key})
    wf.add("second", "add", {"a": 1}, after=["first"])
    workflow_id = live.workflow(wf)
    first = live.app.workflows.show(workflow_id).step("first").run_id
    live.wait_state(first, "running")

    login(page, live.server, path=f"/workflows/{workflow_id}")
    graph = page.locator("svg.graph")
    expect(graph.get_by_role("link", name="Step first: running")).to_be_visible()
    expect(graph.get_by_role("link", name="Step second: waiting")).to_be_visible()
    expect(page.get_by_role("button", name="Retry", exact=True)).to_have_count(0)
    with page.expect_navigation():
        page.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Workflow cancelled")
    expect(graph.get_by_role("link", name="Step second: cancelled")).to_be_visible()
    # the running step stops at its next check, and the page shows it without a reload
    expect(graph.get_by_role("link", name="Step first: cancelled")).to_be_visible(timeout=LIVE_MS)
    expect(page.locator(HEAD_STATE)).to_have_text("cancelled", timeout=LIVE_MS)
    expect(page.get_by_role("button", name="Cancel", exact=True)).to_have_count(0)
    assert live.workflow_state(workflow_id) == "cancelled"


def test_workflow_pages_fit_a_phone_and_a_wide_graph_scrolls_in_its_own_box(
    live: Live, phone_page: Page
) -> None:
    failed = live.failed_workflow()
    wf = rota.Workflow("fan-out")
    wf.add("start", "add", {"a": 0})
    for i in range(8):
        wf.add(f"part-{i}", "add", {"a": i}, after=["start"])
    wf.add("end", "add", {"a": 9}, after=[f"part-{i}" for i in range(8)])
    wide = live.workflow(wf)
    live.wait_workflow(wide, "succeeded")

    login(phone_page, live.server, path="/workflows")
    expect(phone_page.get_by_role("link", name=f"#{failed}", exact=True)).to_be_visible()
    no_sideways_scroll(phone_page)
    phone_page.goto(f"{live.url}/workflows/{failed}")
    graph = phone_page.locator("svg.graph")
    expect(graph.locator("a.node")).to_have_count(4)
    no_sideways_scroll(phone_page)
    fits = graph.evaluate("g => g.getBoundingClientRect().width <= g.parentElement.clientWidth")
    assert fits, "a graph three boxes wide shrinks to the phone's width"

    phone_page.goto(f"{live.url}/workflows/{wide}")
    expect(phone_page.locator("svg.graph a.node")).to_have_count(10)
    no_sideways_scroll(phone_page)
    scroll = phone_page.locator(".graph-box").evaluate("b => [b.scrollWidth, b.clientWidth]")
    assert scroll[0] > scroll[1], f"the wide graph scrolls inside its box: {scroll}"
    box_element = phone_page.locator(".graph-box")
    box_element.focus()  # the keyboard scrolls it
    phone_page.keyboard.press("ArrowRight")
    phone_page.wait_for_function("() => document.querySelector('.graph-box').scrollLeft > 0")


def test_the_keyboard_reaches_retry_and_every_step_of_the_graph(live: Live, page: Page) -> None:
    failed = live.failed_workflow()
    login(page, live.server, path=f"/workflows/{failed}")
    reached = tab_through(page)
    names = [e["text"] for e in reached if e["tag"] == "button"]
    assert "Retry" in names, names
    boxes = [e for e in reached if e["tag"] == "a" and e["label"].startswith("Step ")]
    assert sorted(e["label"] for e in boxes) == [
        "Step charge: failed",
        "Step fetch: succeeded",
        "Step mail: succeeded",
        "Step report: cancelled",
    ], reached
    hidden = [e for e in reached if not visible_focus(e)]
    assert hidden == [], f"focus not visible: {hidden}"
