"""Operator commands are checked at submission against the limits the engine applies, so a command the
engine could not apply (a sleep of 19,000 years overflowed the date and crash-looped it) never enters
the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from safety.command_checks import MAX_REASON_CHARS, MAX_SLEEP_MINUTES, check_command, check_key
from safety.controls import CommandKind


@pytest.mark.parametrize(
    ("kind", "args", "needle"),
    [
        (CommandKind.SLEEP, {"minutes": 9_999_999_999, "reason": "news"}, "--minutes"),
        (CommandKind.SLEEP, {"minutes": 0, "reason": "news"}, "--minutes"),
        (CommandKind.SLEEP, {"minutes": True, "reason": "news"}, "--minutes"),
        (CommandKind.SLEEP, {"minutes": 1.5, "reason": "news"}, "--minutes"),
        (CommandKind.SLEEP, {"minutes": 10}, "--reason must not be empty"),
        (CommandKind.HALT, {"reason": " ", "flatten": False}, "--reason must not be empty"),
        (CommandKind.HALT, {"reason": "x" * (MAX_REASON_CHARS + 1)}, "at most 500"),
        (CommandKind.HALT, {"reason": "two\nlines"}, "one line"),
        (CommandKind.HALT, {"reason": "bad byte \udcff"}, "one line"),
        (CommandKind.HALT, {"reason": "ok", "flatten": "yes"}, "flatten"),
        (CommandKind.RESUME, {"reason": 5}, "text"),
    ],
)
def test_commands_the_engine_could_not_apply_are_refused(kind: CommandKind, args: dict[str, object],
                                                         needle: str) -> None:
    problem = check_command(kind, args)
    assert problem is not None and needle in problem


def test_the_longest_sleep_is_a_date_the_engine_can_compute() -> None:
    assert check_command(CommandKind.SLEEP, {"minutes": MAX_SLEEP_MINUTES, "reason": "news"}) is None
    assert datetime(9000, 1, 1, tzinfo=UTC) + timedelta(minutes=MAX_SLEEP_MINUTES)
    assert check_command(CommandKind.RESUME, {"reason": ""}) is None
    assert check_command(CommandKind.HALT, {"reason": "flash crash", "flatten": True}) is None


@pytest.mark.parametrize("key", ["", "a b", "k" * 129, "-starts-with-dash", "tab\t", "ключ"])
def test_bad_idempotency_keys_are_refused(key: str) -> None:
    assert check_key(key) is not None


def test_good_idempotency_keys_pass() -> None:
    for key in ("halt-2026-01-01", "ops@host:1", "a" * 128, "x/y+z_1.2"):
        assert check_key(key) is None
