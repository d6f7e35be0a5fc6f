"""Bad flow-control input, as a user meets it: refused with a clear message, nothing stored.

A bad limit is refused where the job is defined (the decorator: loading the app fails, with
the reason); a run whose limit key is too long is refused at launch by every launcher (Python,
``rota launch``, REST) like any invalid argument.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import rota
from rota.limits import MAX_KEY
from tests.acceptance.conftest import Cli, assert_user_error
from tests.web.conftest import error_of, start_server

SOURCE = """
import rota

app = rota.App(name="limits-inputs")


@app.job(concurrency=2, concurrency_key="customer", rate_limit=(5, 60), rate_key="customer")
def sync(customer: str, n: int = 0) -> None:
    pass
"""

BAD = """
import rota

app = rota.App(name="limits-inputs")


@app.job({options})
def sync(customer: str) -> None:
    pass
"""

LONG = "c" * (MAX_KEY + 1)


@pytest.fixture
def app_file(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.py"
    path.write_text(textwrap.dedent(SOURCE))
    return path


def stored(database_url: str) -> int:
    app = rota.App(database=database_url)
    try:
        return sum(app.store.runs_count_by_state().values())
    finally:
        app.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("concurrency=0", "concurrency must be an integer from 1"),
        ("concurrency=-3", "concurrency must be an integer from 1"),
        ("concurrency=1, concurrency_key='nope'", "concurrency_key must name one of the job's"),
        ("rate_limit=(5, 0)", "rate_limit's seconds must be above 0"),
        ("rate_limit=5", "rate_limit must be (N, seconds)"),
        ("rate_key='customer'", "rate_key needs rate_limit=(N, seconds)"),
    ],
)
def test_a_bad_limit_is_refused_where_the_job_is_defined(
    tmp_path: Path, database_url: str, options: str, message: str
) -> None:
    app = rota.App(database=database_url)

    def define() -> None:
        exec(f"@app.job({options})\ndef sync(customer: str) -> None: pass", {"app": app})

    with pytest.raises(ValueError, match="job 'sync'") as info:
        define()
    assert message in str(info.value)
    assert "sync" not in app.jobs
    bad = tmp_path / "bad.py"
    bad.write_text(BAD.format(options=options))
    result = Cli(tmp_path, bad, database_url)("jobs")
    assert result.code != 0 and message in result.err, str(result)
    app.close()


def test_a_key_too_long_is_refused_by_every_launcher(
    cli: Cli, tmp_path: Path, database_url: str
) -> None:
    app = rota.App(database=database_url)
    source = SOURCE.replace('app = rota.App(name="limits-inputs")', "")
    exec(source, {"app": app, "rota": rota})
    with pytest.raises(rota.InvalidArguments, match=f"at most {MAX_KEY} characters"):
        app.enqueue("sync", {"customer": LONG})
    with pytest.raises(rota.InvalidArguments, match="item 1"):
        app.get_job("sync").enqueue_many([{"customer": "ok"}, {"customer": LONG}])
    app.close()

    assert_user_error(cli("launch", "sync", "--arg", f"customer={LONG}"), 2, "limit key")

    (tmp_path / "webtest_app.py").write_text(textwrap.dedent(SOURCE))
    server = start_server(tmp_path, database_url, token=None)
    try:
        refused = server.client.post("/api/jobs/sync/runs", json={"args": {"customer": LONG}})
        assert error_of(refused, 422)["code"] == "invalid_arguments"
        ok = server.client.post("/api/jobs/sync/runs", json={"args": {"customer": "c1"}})
        assert ok.status_code == 201, ok.text
    finally:
        server.stop()
        server.client.close()
    assert stored(database_url) == 1  # only the good launch
