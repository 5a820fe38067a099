"""Kill switch and sleep mode: the operator's controls, as a pure state and pure command application.

``halt`` stops entries at once and stays until ``resume``; ``--flatten`` additionally asks the guard
to close every position through its exit path. ``sleep`` stops entries until a time and lifts by
itself. Exits and protective stop changes are never blocked by either. Commands arrive through the
store's operator queue (:mod:`safety.commands`); applying one twice has the effect of applying it
once, so a crash between saving the state and marking the command done is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from core.ports import CommandStatus, OperatorCommand


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


def apply_command(controls: Controls, command: OperatorCommand, now: datetime) -> CommandOutcome:
    """Apply one operator command to the controls (pure)."""
    try:
        kind = CommandKind(command.kind)
    except ValueError:
        known = [k.value for k in CommandKind]
        return _rejected(controls, f"unknown command kind {command.kind!r}; expected one of {known}")
    reason = str(command.args.get("reason") or "").strip()
    match kind:
        case CommandKind.HALT:
            return _halt(controls, reason, bool(command.args.get("flatten", False)), now)
        case CommandKind.RESUME:
            resumed = Controls()
            return CommandOutcome(resumed, CommandStatus.APPLIED, {"halted": False, "was_halted": controls.halted})
        case CommandKind.SLEEP:
            return _sleep(controls, reason, command.args.get("minutes"), now)


def _halt(controls: Controls, reason: str, flatten: bool, now: datetime) -> CommandOutcome:
    if not reason:
        return _rejected(controls, "halt needs a reason")
    if controls.halted:
        # Idempotent: keep the first reason and time; a repeated flatten is harmless (exits are idempotent).
        return CommandOutcome(controls, CommandStatus.APPLIED, {"halted": True, "already": True}, flatten=flatten)
    halted = controls.model_copy(update={"halted": True, "halt_reason": reason, "halted_at": now})
    return CommandOutcome(halted, CommandStatus.APPLIED, {"halted": True, "flatten": flatten}, flatten=flatten)


def _sleep(controls: Controls, reason: str, minutes: object, now: datetime) -> CommandOutcome:
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0:
        return _rejected(controls, f"sleep needs a positive whole number of minutes, got {minutes!r}")
    if not reason:
        return _rejected(controls, "sleep needs a reason")
    until = now + timedelta(minutes=minutes)
    if controls.sleep_until is not None and controls.sleep_until >= until:
        return CommandOutcome(controls, CommandStatus.APPLIED, {"sleep_until": controls.sleep_until.isoformat()})
    slept = controls.model_copy(update={"sleep_until": until, "sleep_reason": reason})
    return CommandOutcome(slept, CommandStatus.APPLIED, {"sleep_until": until.isoformat()})


def _rejected(controls: Controls, why: str) -> CommandOutcome:
    return CommandOutcome(controls, CommandStatus.REJECTED, {"error": why})
