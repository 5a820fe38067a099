"""The limits an operator command must respect, stated once: checked when the command is submitted
(``tradewake halt|sleep|resume``), so a command the engine could not apply never enters the queue.

Pure: no I/O, no clock. ``check_command`` answers why a command would be refused, or ``None``.
Light to import (no pydantic): the CLI reads :data:`MAX_SLEEP_MINUTES` when it starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safety.controls import CommandKind

MAX_SLEEP_MINUTES = 30 * 24 * 60
"""A sleep lifts by itself within 30 days; anything longer is a halt (lifted by ``resume``)."""
MAX_REASON_CHARS = 500
"""The reason is journaled and sent with the alert: one line a human reads."""
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,127}$")
"""Idempotency keys: up to 128 characters a shell, a log line and a Redis key all keep intact."""


def check_key(key: str) -> str | None:
    if KEY_RE.fullmatch(key):
        return None
    return "--key must be 1 to 128 characters: letters, digits and _ . : @ / + - (starting with a letter or digit)"


def check_command(kind: CommandKind, args: Mapping[str, Any]) -> str | None:
    """Why the engine would refuse ``kind`` with ``args``, or ``None`` when it can apply it."""
    reason = args.get("reason", "")
    problem = _check_reason(reason, required=kind != "resume")
    if problem is not None:
        return problem
    if kind == "sleep":
        return _check_minutes(args.get("minutes"))
    if kind == "halt" and not isinstance(args.get("flatten", False), bool):
        return "flatten must be true or false"
    return None


def _check_reason(reason: object, *, required: bool) -> str | None:
    if not isinstance(reason, str):
        return "--reason must be text"
    if required and not reason.strip():
        return "--reason must not be empty"
    if len(reason) > MAX_REASON_CHARS:
        return f"--reason must be at most {MAX_REASON_CHARS} characters (it is {len(reason)})"
    if not reason.isprintable():
        return "--reason must be one line of printable text (no control characters or undecodable bytes)"
    return None


def _check_minutes(minutes: object) -> str | None:
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_SLEEP_MINUTES:
        return f"--minutes must be a whole number from 1 to {MAX_SLEEP_MINUTES} (30 days); a halt lasts longer"
    return None
