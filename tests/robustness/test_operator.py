"""The kill switch always reaches the engine: with `mode = "mainnet"` in ./tradewake.toml and no
confirmation variable, `halt`, `sleep`, `status`, `journal verify` and `decisions live` work; the
default store is the per-user one, so a command from any directory queues where the engine reads,
and every command says which store it used."""

from __future__ import annotations

import json
import shutil

from tests.robustness.runner import CliRunner, Sandbox, base_env, check_failure, check_success


def test_operator_commands_from_any_directory_reach_the_engines_store(cli: CliRunner, sandbox: Sandbox) -> None:
    engine_store = sandbox.data / "tradewake" / "tradewake.sqlite3"
    engine_store.parent.mkdir(parents=True)
    shutil.copy(sandbox.work / "runs/done/store.sqlite3", engine_store)  # a store an engine wrote
    (sandbox.work / "tradewake.toml").write_text('mode = "mainnet"\n', encoding="utf-8")
    env = base_env(sandbox)

    halt = cli.run(("halt", "--reason", "flash crash", "--flatten", "--key", "halt-1"), sandbox.work, env)
    check_success(halt)
    assert f"queued as halt-1 in {engine_store} (namespace tw)" in halt.stdout
    other = sandbox.home  # another directory: no tradewake.toml, same per-user store
    sleep = cli.run(("sleep", "--minutes", "30", "--reason", "CPI at 12:30"), other, env)
    check_success(sleep)
    assert str(engine_store) in sleep.stdout
    again = cli.run(("halt", "--reason", "flash crash", "--flatten", "--key", "halt-1"), other, env)
    check_success(again)
    assert "already queued as halt-1" in again.stdout
    clash = cli.run(("resume", "--key", "halt-1"), other, env)
    check_failure(clash, expect=2, needle="already used for a different command")

    for directory in (sandbox.work, other):
        status = cli.run(("status", "--json"), directory, env)
        check_success(status)
        shown = json.loads(status.stdout)
        assert shown["store"] == f"{engine_store} (namespace tw)"
        assert [c["kind"] for c in shown["pending_commands"]] == ["halt", "sleep"]
        assert shown["pending_commands"][0]["args"] == {"reason": "flash crash", "flatten": True}
    for argv in (("journal", "verify"), ("decisions", "live", "--last", "1"), ("journal", "tail", "-n", "1")):
        check_success(cli.run(argv, sandbox.work, env))


def test_a_store_no_engine_wrote_is_refused_unless_forced(cli: CliRunner, sandbox: Sandbox) -> None:
    env = base_env(sandbox)
    refused = cli.run(("halt", "--reason", "test"), sandbox.work, env)
    check_failure(refused, expect=2, needle="NOT queued")
    assert str(sandbox.data / "tradewake" / "tradewake.sqlite3") in refused.stderr
    assert not (sandbox.data / "tradewake").exists(), "a refused command creates nothing"
    forced = cli.run(("halt", "--reason", "before the first start", "--force"), sandbox.work, env)
    check_success(forced)
    status = json.loads(cli.run(("status", "--json"), sandbox.home, env).stdout)
    assert status["board"] is None and [c["kind"] for c in status["pending_commands"]] == ["halt"]
