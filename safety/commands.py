"""Applying the operator's queued commands (halt, resume, sleep) at the start of every engine step.

Each command's effect is saved (controls in the breaker board, a ``command.applied`` journal event)
in one commit before the command is marked finished in the queue. A crash in between re-applies
it on the next step, which is harmless: applying a command twice has the effect of applying it
once. ``halt`` takes effect for the veto the moment it is applied (the board in memory); with
``flatten`` every pending entry is cancelled and every position closed through the guard. Kinds another
part of the engine applies (``delegated``, e.g. ``holdings.*``) are left in the queue for it; any other
kind is not known and fails. A command that cannot be applied never stays pending (``command.failed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.ids import Symbol
from core.ports import CommandReceipt, CommandStatus, OperatorCommand, Store
from safety.alerts import AlertKind
from safety.book import SAVE_ERRORS, SafetyBook
from safety.controls import CommandKind, CommandOutcome, apply_command, failed, readable_halt
from safety.keeper import StateKeeper
from safety.requests import Requests


@dataclass(frozen=True, slots=True)
class AppliedCommand:
    idempotency_key: str
    kind: str
    status: CommandStatus
    result: dict[str, object]


@dataclass
class Commands:
    store: Store
    """The operator's command queue."""
    book: SafetyBook
    keeper: StateKeeper
    requests: Requests
    delegated: tuple[str, ...] = ()
    """Prefixes of command kinds that are not safety's to apply (nor to refuse)."""

    async def apply_pending(self, prices: Mapping[Symbol, Decimal], now: datetime) -> list[AppliedCommand]:
        """Apply every pending command in queue order; stop at the first that cannot be saved.

        A command that cannot be applied as written is finished as ``failed`` (``command.failed`` journaled with
        the reason, a human alerted) and the queue goes on: no command blocks the ones behind it, a restart
        never meets it again."""
        applied: list[AppliedCommand] = []
        for receipt in self.store.pending_commands():
            command = receipt.command
            if self._not_mine(receipt):
                continue
            outcome = self._outcome(receipt, now)
            if outcome.controls != self.book.board.controls:
                self.book.put_board(self.book.board.model_copy(update={"controls": outcome.controls}))
            event = "command.failed" if outcome.status is CommandStatus.FAILED else "command.applied"
            payload: dict[str, object] = {"command": _readable(receipt), "status": outcome.status.value}
            self.book.journal(event, now, {**payload, "result": outcome.result})
            if not await self.keeper.save(now):
                break  # the controls hold in memory; the command stays pending and is applied again
            if outcome.flatten:
                await self.requests.flatten(readable_halt(command.args)[0], prices, now)
            await self._tell(command, outcome, now)
            if not await self._finish(command.idempotency_key, outcome.status, outcome.result, now):
                break
            applied.append(AppliedCommand(command.idempotency_key, command.kind, outcome.status, outcome.result))
        return applied

    def _not_mine(self, receipt: CommandReceipt) -> bool:
        """A kind another applier owns (``holdings.*``) when it reads: left for it. An unreadable command is
        failed here, whoever's prefix it carries (no applier can trust what it says)."""
        kind = receipt.command.kind
        return receipt.problem is None and bool(self.delegated) and kind.startswith(self.delegated)

    def _outcome(self, receipt: CommandReceipt, now: datetime) -> CommandOutcome:
        """The pure decision; an error in it fails this command instead of stopping the engine at every step."""
        try:
            return apply_command(self.book.board.controls, receipt.command, now, problem=receipt.problem)
        except (ArithmeticError, ValueError, TypeError, KeyError) as exc:
            return failed(self.book.board.controls, f"cannot apply: {type(exc).__name__}: {exc}"[:500])

    async def _tell(self, command: OperatorCommand, outcome: CommandOutcome, now: datetime) -> None:
        if outcome.status is CommandStatus.FAILED:
            await self.keeper.alert(
                AlertKind.COMMAND_FAILED,
                f"operator command {command.idempotency_key} ({command.kind}) failed: {outcome.result.get('error')}",
                now,
                key=command.idempotency_key,
            )
        elif command.kind == CommandKind.HALT:
            await self.keeper.alert(
                AlertKind.HALT,
                f"halted by {command.submitted_by}: {readable_halt(command.args)[0]}"
                + (" (flattening)" if outcome.flatten else ""),
                now,
                key=command.idempotency_key,
            )

    async def _finish(self, key: str, status: CommandStatus, result: dict[str, object], now: datetime) -> bool:
        """Mark the command finished in the queue; a failure is loud and the command is applied again."""
        try:
            self.store.finish_command(key, status, result)
        except SAVE_ERRORS as exc:
            await self.keeper.alert(
                AlertKind.SAVE_FAILED,
                f"command {key} applied but not marked finished ({exc}); it will be applied again",
                now,
                key="finish_command",
            )
            return False
        return True


def _readable(receipt: CommandReceipt) -> dict[str, object]:
    """The command for the journal; a salvaged one (built without validation) is written field by field."""
    command = receipt.command
    if receipt.problem is None:
        return command.model_dump(mode="json")
    return {
        "idempotency_key": command.idempotency_key,
        "kind": command.kind,
        "args": command.args,
        "submitted_at": command.submitted_at.isoformat(),
        "submitted_by": command.submitted_by,
    }
