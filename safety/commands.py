"""Applying the operator's queued commands (halt, resume, sleep) at the start of every engine step.

Each command's effect is saved (controls in the breaker board, a ``command.applied`` journal event)
in one commit before the command is marked finished in the queue. A crash in between re-applies
it on the next step, which is harmless: applying a command twice has the effect of applying it
once. ``halt`` takes effect for the veto the moment it is applied (the board in memory); with
``flatten`` every pending entry is cancelled and every position closed through the guard. Kinds another
part of the engine applies (``delegated``, e.g. ``holdings.*``) are left in the queue for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.ids import Symbol
from core.ports import CommandStatus, Store
from safety.alerts import AlertKind
from safety.book import SAVE_ERRORS, SafetyBook
from safety.controls import CommandKind, apply_command
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
        """Apply every pending command in queue order; stop at the first that cannot be saved."""
        applied: list[AppliedCommand] = []
        for receipt in self.store.pending_commands():
            command = receipt.command
            if self.delegated and command.kind.startswith(self.delegated):
                continue
            outcome = apply_command(self.book.board.controls, command, now)
            if outcome.controls != self.book.board.controls:
                self.book.put_board(self.book.board.model_copy(update={"controls": outcome.controls}))
            self.book.journal(
                "command.applied",
                now,
                {"command": command.model_dump(mode="json"), "status": outcome.status.value, "result": outcome.result},
            )
            if not await self.keeper.save(now):
                break  # the controls hold in memory; the command stays pending and is applied again
            if outcome.flatten:
                await self.requests.flatten(str(command.args.get("reason", "")), prices, now)
            if command.kind == CommandKind.HALT and outcome.status is CommandStatus.APPLIED:
                await self.keeper.alert(
                    AlertKind.HALT,
                    f"halted by {command.submitted_by}: {command.args.get('reason')}"
                    + (" (flattening)" if outcome.flatten else ""),
                    now,
                    key=command.idempotency_key,
                )
            if not await self._finish(command.idempotency_key, outcome.status, outcome.result, now):
                break
            applied.append(AppliedCommand(command.idempotency_key, command.kind, outcome.status, outcome.result))
        return applied

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
