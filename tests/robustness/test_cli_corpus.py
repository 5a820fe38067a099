"""The CLI corpus (``cases.py``) through the real CLI, each invocation its own process in its own sandbox:
a failure is exit 1 or 2 with exactly one line on stderr and no traceback, and no file is touched
outside what a successful command may write. With TRADEWAKE_LONG_TESTS=1 every damaged file and
settings error goes through every reader, each in a fresh interpreter."""

from __future__ import annotations

import pytest

from tests.conftest import LONG_TESTS
from tests.robustness.cases import Case, all_cases
from tests.robustness.runner import CliRunner, Sandbox, base_env, check_failure, check_success

CASES = all_cases(everything=LONG_TESTS)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_invocation(cli: CliRunner, sandbox: Sandbox, case: Case) -> None:
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
