"""The CLI corpus (``cases.py``) through the real CLI, each invocation its own process in its own sandbox:
a failure is exit 1 or 2 with exactly one line on stderr and no traceback, and no file is touched
outside what a successful command may write. With TRADEWAKE_LONG_TESTS=1 every damaged file and
settings error goes through every reader.

The corpus runs in processes forked from a warmed-up CLI; a sample (every fifth case with
TRADEWAKE_LONG_TESTS=1, three in ``make test``) also runs in a fresh interpreter and must end the same
way, which shows the shortcut changes nothing a user would see."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import LONG_TESTS
from tests.robustness.cases import Case, all_cases
from tests.robustness.runner import CliResult, CliRunner, Sandbox, base_env, check_failure, check_success

CASES = all_cases(everything=LONG_TESTS)
SAMPLE = CASES[::5] if LONG_TESTS else [c for c in CASES if c.id in ("toml-syntax-config-show", "sleep-overflow",
                                                                     "bt-out-not-a-run")]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_invocation(cli: CliRunner, sandbox: Sandbox, case: Case) -> None:
    check_case(cli, sandbox, case)


@pytest.mark.parametrize("case", SAMPLE, ids=[case.id for case in SAMPLE])
def test_a_fresh_interpreter_ends_the_same_way(cli: CliRunner, fresh_cli: CliRunner, sandbox: Sandbox, world: Path,
                                               tmp_path: Path, case: Case) -> None:
    forked = check_case(cli, sandbox, case)
    other = Sandbox.make(tmp_path / "fresh")
    shutil.copytree(world, other.work, symlinks=True, dirs_exist_ok=True)
    fresh = check_case(fresh_cli, other, case)
    assert fresh.code == forked.code
    assert _normal(fresh.stderr, other) == _normal(forked.stderr, sandbox), (fresh.describe(), forked.describe())


def _normal(text: str, sandbox: Sandbox) -> str:
    return text.replace(str(sandbox.root), "<sandbox>")


def check_case(cli: CliRunner, sandbox: Sandbox, case: Case) -> CliResult:
    for name, content in case.files.items():
        (sandbox.work / name).write_bytes(content)
    sandbox.seal()
    result = cli.run(case.argv, sandbox.work, {**base_env(sandbox), **case.env}, case.timeout)
    if case.expect == 0:
        check_success(result)
    else:
        check_failure(result, expect=case.expect, needle=case.needle)
    touched = [path for path in sandbox.changes() if not path.startswith(case.may_change or ("\0",))]
    assert not touched, f"{result.describe()}\nfiles touched: {touched}"
    return result
