"""Applying the operator's queued commands (halt, resume, sleep) at the start of every engine step.

Each command's effect is saved (controls in the breaker board, a ``command.applied`` journal event)
in one commit before the command is marked finished in the queue. A crash in between re-applies
it on the next step, which is harmless: applying a command twice has the effect of applying it
once. ``halt`` takes effect for the veto the moment it is applied (the board in memory); with
``flatten`` every pending entry is cancelled and every position closed through the guard.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.ids import Symbol
from core.ports import CommandStatus
from safety.alerts import AlertKind
from safety.book import SAVE_ERRORS
from safety.controls import CommandKind, apply_command
from safety.executor import GuardExecutor
from safety.requests import flatten


@dataclass(frozen=True, slots=True)
class AppliedCommand:
    idempotency_key: str
    kind: str
    status: CommandStatus
    result: dict[str, object]


async def apply_pending_commands(
    ex: GuardExecutor, prices: Mapping[Symbol, Decimal], now: datetime
) -> list[AppliedCommand]:
    """Apply every pending command in queue order; stop at the first that cannot be saved."""
    applied: list[AppliedCommand] = []
    for receipt in ex.book.store.pending_commands():
        command = receipt.command
        outcome = apply_command(ex.book.board.controls, command, now)
        if outcome.controls != ex.book.board.controls:
            ex.book.put_board(ex.book.board.model_copy(update={"controls": outcome.controls}))
        ex.book.journal(
            "command.applied",
            now,
            {"command": command.model_dump(mode="json"), "status": outcome.status.value, "result": outcome.result},
        )
        if not await ex.save(now):
            break  # the controls hold in memory; the command stays pending and is applied again
        if outcome.flatten:
            await flatten(ex, str(command.args.get("reason", "")), prices, now)
        if command.kind == CommandKind.HALT and outcome.status is CommandStatus.APPLIED:
            await ex.alert(
                AlertKind.HALT,
                f"halted by {command.submitted_by}: {command.args.get('reason')}"
                + (" (flattening)" if outcome.flatten else ""),
                now,
                key=command.idempotency_key,
            )
        try:
            ex.book.store.finish_command(command.idempotency_key, outcome.status, outcome.result)
        except SAVE_ERRORS as exc:
            await ex.alert(
                AlertKind.SAVE_FAILED,
                f"command {command.idempotency_key} applied but not marked finished ({exc}); it will be applied again",
                now,
                key="finish_command",
            )
            break
        applied.append(AppliedCommand(command.idempotency_key, command.kind, outcome.status, outcome.result))
    return applied
