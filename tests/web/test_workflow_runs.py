"""The run verbs of REST on workflow steps: a refusal says why (the step's upstream failed;
a later step still needs this one), and a retry of the failed step repairs the workflow."""

from __future__ import annotations

import httpx

import rota

from .conftest import error_of


def test_retry_and_delete_of_steps_say_why_they_are_refused(
    api: httpx.Client, local_app: rota.App
) -> None:
    wf = rota.Workflow("broken")
    wf.add("first", "boom", {"message": "bad"})
    wf.add("second", "add", {"a": 1}, after=["first"])
    handle = wf.enqueue(local_app)
    local_app.drain()
    record = handle.workflow()
    first, second = record.step("first").run_id, record.step("second").run_id
    assert [s.state.value for s in record.steps] == ["failed", "cancelled"]

    refused = error_of(api.post(f"/api/runs/{second}/retry"), 409)
    assert refused["code"] == "conflict"
    assert "step 'second'" in refused["message"] and "retry that step" in refused["message"]
    kept = error_of(api.delete(f"/api/runs/{first}"), 409)
    assert "a step after it in its workflow has not succeeded" in kept["message"]

    retried = api.post(f"/api/runs/{first}/retry")
    assert retried.status_code == 200 and retried.json()["state"] == "queued"
    assert api.get(f"/api/runs/{second}").json()["state"] == "waiting"
