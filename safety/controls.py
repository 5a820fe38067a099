"""Kill switch and sleep mode: the operator's controls, as a pure state and pure command application.

``halt`` stops entries at once and stays until ``resume``; ``--flatten`` additionally asks the guard
to close every position through its exit path. ``sleep`` stops entries until a time and lifts by
itself. Exits and protective stop changes are never blocked by either. Commands arrive through the
store's operator queue (:mod:`safety.commands`); applying one twice has the effect of applying it
once, so a crash between saving the state and marking the command done is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from core.ports import CommandStatus, OperatorCommand
from safety.command_checks import MAX_REASON_CHARS, check_command


class CommandKind(StrEnum):
    HALT = "halt"
    RESUME = "resume"
    SLEEP = "sleep"


class Controls(BaseModel):
    """The kill switch and sleep state (persisted as part of the breaker board)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    halted: bool = False
    halt_reason: str | None = None
    halted_at: AwareDatetime | None = None
    sleep_until: AwareDatetime | None = None
    sleep_reason: str | None = None

    def sleeping(self, now: datetime) -> bool:
        return self.sleep_until is not None and now < self.sleep_until


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What applying one command decided: the new controls, the queue status and result, and
    whether every open position must now be closed."""

    controls: Controls
    status: CommandStatus
    result: dict[str, Any]
    flatten: bool = False


def apply_command(
    controls: Controls, command: OperatorCommand, now: datetime, *, problem: str | None = None
) -> CommandOutcome:
    """Apply one operator command to the controls (pure; never raises for what the command says).

    ``halt`` always applies, with what it can read: a missing or unreadable reason is named as such, and
    ``flatten`` is honoured only when it is exactly ``true`` (closing every position is not done on a guess).
    Any other command that is unreadable (``problem``, from the store), of an unknown kind, or outside the
    limits :func:`safety.command_checks.check_command` states is ``FAILED`` with the reason: it leaves the
    queue and the controls as they were."""
    if command.kind == CommandKind.HALT:
        return _halt(controls, command.args, now, problem)
    if problem is not None:
        return failed(controls, problem)
    try:
        kind = CommandKind(command.kind)
    except ValueError:
        known = [k.value for k in CommandKind]
        return failed(controls, f"unknown command kind {command.kind!r}; expected one of {known}")
    why = check_command(kind, command.args)
    if why is not None:
        return failed(controls, why)
    reason = str(command.args.get("reason") or "").strip()
    if kind is CommandKind.SLEEP:
        return _sleep(controls, reason, int(command.args["minutes"]), now)
    return CommandOutcome(Controls(), CommandStatus.APPLIED, {"halted": False, "was_halted": controls.halted})


def _halt(controls: Controls, args: Mapping[str, Any], now: datetime, problem: str | None) -> CommandOutcome:
    reason, unread = readable_halt(args)
    flatten = args.get("flatten", False) is True
    notes = ([problem] if problem else []) + unread
    extra: dict[str, Any] = {"unread": notes} if notes else {}
    if controls.halted:
        # Idempotent: keep the first reason and time; a repeated flatten is harmless (exits are idempotent).
        return CommandOutcome(
            controls, CommandStatus.APPLIED, {"halted": True, "already": True, **extra}, flatten=flatten
        )
    halted = controls.model_copy(update={"halted": True, "halt_reason": reason, "halted_at": now})
    return CommandOutcome(halted, CommandStatus.APPLIED, {"halted": True, "flatten": flatten, **extra}, flatten=flatten)


def readable_halt(args: Mapping[str, Any]) -> tuple[str, list[str]]:
    """A halt's reason as one printable line (or a stand-in), and what of its args could not be used."""
    unread: list[str] = []
    raw = args.get("reason")
    text = raw if isinstance(raw, str) else ""
    if raw is not None and not isinstance(raw, str):
        unread.append(f"reason is not text ({type(raw).__name__})")
    line = "".join(ch if ch.isprintable() else " " for ch in text).strip()[:MAX_REASON_CHARS]
    if "flatten" in args and not isinstance(args["flatten"], bool):
        unread.append(f"flatten {args['flatten']!r} is not true/false: not flattening")
    return line or "no readable reason given", unread


def _sleep(controls: Controls, reason: str, minutes: int, now: datetime) -> CommandOutcome:
    until = now + timedelta(minutes=minutes)
    if controls.sleep_until is not None and controls.sleep_until >= until:
        return CommandOutcome(controls, CommandStatus.APPLIED, {"sleep_until": controls.sleep_until.isoformat()})
    slept = controls.model_copy(update={"sleep_until": until, "sleep_reason": reason})
    return CommandOutcome(slept, CommandStatus.APPLIED, {"sleep_until": until.isoformat()})


def failed(controls: Controls, why: str) -> CommandOutcome:
    """The controls unchanged, the command finished as ``FAILED`` with ``why``."""
    return CommandOutcome(controls, CommandStatus.FAILED, {"error": why})
