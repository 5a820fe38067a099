"""Every failure of a command becomes one line and an exit code: 2 a user mistake, 1 an operational
failure, 130 interrupted, 70 a bug (named, with how to get its traceback)."""

from __future__ import annotations

import pytest
import typer

from core.errors import ConfigError, OperationalError, TemporaryError
from engine.cli import INTERNAL_ERROR, describe_failure


class _Stopped(ConfigError):
    cli_exit_code = 130


@pytest.mark.parametrize(
    ("exc", "line", "code"),
    [
        (ConfigError("bad --cash"), "error: bad --cash", 2),
        (OperationalError("redis down"), "operational error: redis down", 1),
        (TemporaryError("exchange slow"), "error: exchange slow", 1),
        (_Stopped("interrupted after 5 of 9 candles"), "interrupted after 5 of 9 candles", 130),
        (KeyboardInterrupt(), "interrupted", 130),
        (typer.BadParameter("--minutes must be ..."), "error: Invalid value: --minutes must be ...", 2),
        (PermissionError(13, "Permission denied", "runs/x"), "operational error: Permission denied: runs/x", 1),
        (BrokenPipeError(32, "Broken pipe"), "error: the output was closed before the command finished", 1),
        (MemoryError(), "operational error: out of memory", 1),
    ],
)
def test_each_kind_of_failure_is_one_line_and_a_code(exc: BaseException, line: str, code: int) -> None:
    assert describe_failure(exc) == (line, code)


def test_an_unexpected_exception_is_named_as_a_bug() -> None:
    line, code = describe_failure(ZeroDivisionError("division by zero"))
    assert code == INTERNAL_ERROR
    assert line.startswith("internal error: ZeroDivisionError: division by zero") and "TRADEWAKE_DEBUG=1" in line
