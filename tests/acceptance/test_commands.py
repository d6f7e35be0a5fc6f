"""``rota`` as a whole: app loading, jobs, nodes, db, worker, and the database's failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acceptance.conftest import Cli, Worker, assert_user_error
from tests.support import wait_until


def test_version_and_help(cli: Cli) -> None:
    version = cli.raw("--version")
    assert version.code == 0
    assert version.out.strip().startswith("rota ")
    assert cli.raw("--help").code == 0
    assert cli.raw().code == 2  # no command: help on stderr, usage error
    assert_user_error(cli.raw("frobnicate"), 2, "frobnicate")
    assert_user_error(cli.raw("--frobnicate", "jobs"), 2, "--frobnicate")


def test_jobs_table_and_json(cli: Cli) -> None:
    described = cli.ok("jobs", "--json").json()
    by_name = {d["name"]: d for d in described}
    assert set(by_name) == {"add", "echo", "boom", "steps", "block"}
    assert by_name["boom"]["queue"] == "mail"
    assert by_name["add"]["params"][0] == {"name": "a", "type": "int", "required": True}
    lines = cli.ok("jobs").out.splitlines()
    assert lines[0].split()[:2] == ["NAME", "QUEUE"]
    add = next(line for line in lines if line.startswith("add "))
    assert "a: int, b: int = 0" in add
    assert "Add two numbers." in add


def test_commands_without_jobs_work_without_an_app(cli: Cli) -> None:
    run_id = cli.ok("launch", "add", "--arg", "a=1", "--json").json()["id"]
    runs = cli.ok("runs", "list", "--json", app=False).json()
    assert [r["id"] for r in runs] == [run_id]
    assert cli.ok("runs", "show", str(run_id), "--json", app=False).json()["job"] == "add"
    assert "schema version" in cli.ok("db", "upgrade", app=False).out


def test_commands_needing_jobs_refuse_without_an_app(cli: Cli) -> None:
    for args in (["jobs"], ["launch", "add"], ["exec", "add"], ["worker", "--burst"]):
        assert_user_error(cli(*args, app=False), 2, "--app")


def test_app_by_module_name_and_env(cli: Cli, tmp_path: Path) -> None:
    by_module = cli.raw("--app", "tasks:app", "--database", cli.database_url, "jobs", "--json")
    assert by_module.code == 0, str(by_module)
    by_env = cli.raw("--database", cli.database_url, "jobs", env={"ROTA_APP": "tasks"})
    assert by_env.code == 0, str(by_env)
    assert "add" in by_env.out


@pytest.mark.parametrize(
    ("source", "ref", "needle"),
    [
        (None, "missing_module", "no module named 'missing_module'"),
        (None, "nowhere.py", "not found"),
        ("x = 1\n", "{file}:app", "has no attribute 'app'"),
        ("x = 1\n", "{file}:x", "is a int, not a rota.App"),
        ("raise RuntimeError('bad config')\n", "{file}", "RuntimeError: bad config"),
        ("import not_installed_dep\n", "{file}", "No module named 'not_installed_dep'"),
        ("def broken(:\n", "{file}", "SyntaxError"),
    ],
)
def test_app_that_cannot_be_loaded_exits_2(
    cli: Cli, tmp_path: Path, source: str | None, ref: str, needle: str
) -> None:
    broken = tmp_path / "broken_app.py"
    if source is not None:
        broken.write_text(source)
    result = cli.raw("--app", ref.format(file=broken), "--database", cli.database_url, "jobs")
    assert_user_error(result, 2, "cannot load app", needle)


def test_unreachable_database_exits_2(cli: Cli, backend: str, tmp_path: Path) -> None:
    commands = [["runs", "list"], ["launch", "add", "--arg", "a=1"], ["db", "upgrade"]]
    if backend == "sqlite":
        urls = [f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}", f"sqlite:///{tmp_path}"]
    else:  # each try waits for the pool's connect timeout: one command is enough
        urls, commands = ["postgresql://rota:secret@127.0.0.1:1/nowhere"], commands[:1]
    for url in urls:
        for args in commands:
            result = cli.raw("--app", str(cli.app_file), "--database", url, *args)
            assert_user_error(result, 2)
            assert "secret" not in result.err


def test_unsupported_database_url_exits_2(cli: Cli) -> None:
    result = cli.raw("--database", "mysql://localhost/x", "runs", "list")
    assert_user_error(result, 2, "unsupported database URL")


def test_missing_extra_names_the_pip_install(cli: Cli, tmp_path: Path) -> None:
    fake = tmp_path / "no_driver" / "psycopg"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'psycopg'\", name='psycopg')\n"
    )
    result = cli.raw(
        "--database", "postgresql://rota@127.0.0.1/rota", "runs", "list",
        env={"PYTHONPATH": str(fake.parent)},
    )  # fmt: skip
    assert_user_error(result, 2, "pip install 'rota[postgres]'")


def test_db_upgrade_and_status(cli: Cli) -> None:
    upgraded = cli.ok("db", "upgrade")
    assert "schema version" in upgraded.out
    status = cli.ok("db", "status", "--json").json()
    assert status["schema_version"] >= 1
    assert status["up_to_date"] is True
    assert status["runs"] == {}
    cli.ok("exec", "add", "--arg", "a=1")
    assert cli.ok("db", "status", "--json").json()["runs"] == {"succeeded": 1}
    assert "up to date" in cli.ok("db", "status").out


def test_burst_worker_drains_its_queues_and_exits_0(cli: Cli) -> None:
    add = int(cli.ok("launch", "add", "--arg", "a=1").out)
    mail = int(cli.ok("launch", "boom").out)
    only_mail = cli("worker", "--burst", "--queues", "mail")
    assert only_mail.code == 0, str(only_mail)
    assert cli.run_json(mail)["state"] == "failed"
    assert cli.run_json(add)["state"] == "queued"
    everything = cli("worker", "--burst", "--concurrency", "2")
    assert everything.code == 0, str(everything)
    assert cli.run_json(add)["state"] == "succeeded"
    assert cli("worker", "--burst").code == 0  # nothing due: exits at once


def test_burst_runs_more_runs_than_its_concurrency(cli: Cli) -> None:
    for i in range(6):
        cli.ok("launch", "add", "--arg", f"a={i}")
    result = cli("worker", "--burst", "--concurrency", "2")
    assert result.code == 0, str(result)
    assert "burst finished: 6 succeeded" in result.err
    assert [r["state"] for r in cli.ok("runs", "list", "--json").json()] == ["succeeded"] * 6


def test_worker_rejects_bad_options(cli: Cli) -> None:
    assert_user_error(cli("worker", "--concurrency", "0"), 2, "--concurrency")
    assert_user_error(cli("worker", "--shutdown-timeout", "-1"), 2, "--shutdown-timeout")


def test_worker_runs_jobs_is_a_node_and_stops_on_sigterm(cli: Cli, worker: Worker) -> None:
    worker.start("--concurrency", "2")
    run_id = int(cli.ok("launch", "add", "--arg", "a=20", "--arg", "b=22").out)
    assert cli.wait_state(run_id, "succeeded")["result"] == 42

    def alive() -> list[dict[str, object]]:
        nodes = cli.ok("nodes", "--json").json()
        return [n for n in nodes if n["state"] == "alive" and "worker" in n["roles"]]

    [node] = wait_until(alive, what="an alive worker node")
    assert str(node["id"]) in cli.ok("nodes").out
    code, err = worker.stop()
    assert code == 0, err
    assert "Traceback" not in err
    after = {n["id"]: n for n in cli.ok("nodes", "--json").json()}
    assert after[node["id"]]["state"] == "stopped"


def test_sigterm_hands_unfinished_runs_back(cli: Cli, worker: Worker, tmp_path: Path) -> None:
    release = tmp_path / "release"
    worker.start("--shutdown-timeout", "0.2")
    run_id = int(cli.ok("launch", "block", "--arg", f"path={release}").out)
    cli.wait_state(run_id, "running")
    code, err = worker.stop(timeout=20)  # the job runs on: the worker must not wait for it
    assert code == 0, err
    assert cli.run_json(run_id)["state"] == "queued"
    release.touch()
    assert cli("worker", "--burst").code == 0
    assert cli.run_json(run_id)["state"] == "succeeded"


def test_completion_scripts_for_each_shell(cli: Cli) -> None:
    for shell in ("bash", "zsh", "fish"):
        result = cli("completion", shell, app=False)
        assert result.code == 0, str(result)
        assert "_ROTA_COMPLETE" in result.out
    assert_user_error(cli("completion", "tcsh", app=False), 2, "tcsh")
