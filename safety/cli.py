"""``tradewake halt | resume | sleep | status``: the operator's kill switch, through the command queue.

The commands only *submit* to the store's operator queue (idempotency key: ``--key``, default a
fresh one); the running engine applies them at its next step, atomically. Re-running a command
with the same key is a no-op the CLI reports as ``duplicate``. ``status`` reads the persisted
safety state (controls, breakers, open positions, pending commands) without touching the exchange.

None of them needs the mainnet confirmation (they cannot trade), each says which store it used, and a
command is checked against the limits the engine applies (:mod:`safety.command_checks`) before it is
queued. ``halt``/``sleep``/``resume`` refuse a store no engine has written to (a command queued there
would never be applied: usually the wrong settings or directory) unless ``--force``; ``status`` never
creates a store.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from core.clock import WallClock
from core.errors import ConfigError
from core.json_output import print_json
from safety.command_checks import MAX_SLEEP_MINUTES, check_command, check_key

if TYPE_CHECKING:  # the ports' and the controls' pydantic models are built when a command runs, not at mount
    from core.ports import CommandReceipt, OperatorCommand, Store
    from core.settings import StoreSettings
    from safety.controls import CommandKind

console = Console()

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML settings file (default: $TRADEWAKE_CONFIG or ./tradewake.toml)."),
]
KeyOption = Annotated[
    str | None,
    typer.Option("--key", help="Idempotency key; re-sending the same key never applies the command twice."),
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (journaled and sent with the alert).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
RunnerOption = Annotated[
    str | None,
    typer.Option("--runner", help="Several runners (runner.* settings): only this runner (default: every live one)."),
]
SymbolOption = Annotated[
    str | None,
    typer.Option("--symbol", help="Several runners: the runner holding this symbol's lease now (the whole runner)."),
]
ForceOption = Annotated[
    bool,
    typer.Option("--force", help="Queue even into a store no engine has written to yet (e.g. before the first start)."),
]


def _store_settings(config: Path | None) -> StoreSettings:
    from core.settings import load_inert_settings

    return load_inert_settings(config).store


def _submit(
    kind: CommandKind, args: dict[str, Any], key: str | None, config: Path | None, force: bool,
    *, runner: str | None = None, symbol: str | None = None,
) -> None:
    problem = check_command(kind, args) or (check_key(key) if key is not None else None)
    if problem is not None:
        raise typer.BadParameter(problem)
    from core.settings import load_inert_settings

    full = load_inert_settings(config)
    if full.runner.id is not None or runner is not None or symbol is not None:
        if full.runner.id is None:
            raise typer.BadParameter("--runner/--symbol need the runner.* settings of several runners (docs/runners)")
        from safety.fleet_cli import submit_to_fleet

        for target, receipt in submit_to_fleet(full, _command(kind, args, key), runner=runner, symbol=symbol):
            _report(kind, receipt, f"runner {target.runner} ({target.book_namespace})")
        return
    from safety.operator import engine_has_written
    from store.factory import describe_store, open_store, store_exists

    settings = _store_settings(config)
    where = describe_store(settings)
    if not force and not store_exists(settings):
        raise ConfigError(f"{kind.value} NOT queued: no store at {where}; no engine has run with these settings "
                          "(check --config / store.url, or pass --force to queue it anyway)")
    store = open_store(settings, create=force)
    try:
        if not force and not engine_has_written(store):
            raise ConfigError(f"{kind.value} NOT queued: no engine has written to the store {where} "
                              "(check --config / store.url, or pass --force to queue it anyway)")
        receipt = store.submit_command(_command(kind, args, key))
    finally:
        store.close()
    _report(kind, receipt, where)


def _command(kind: CommandKind, args: dict[str, Any], key: str | None) -> OperatorCommand:
    from core.ports import OperatorCommand

    return OperatorCommand(
        idempotency_key=key or f"{kind.value}-{uuid.uuid4().hex[:16]}",
        kind=kind.value,
        args=args,
        submitted_at=WallClock().now(),
        submitted_by=os.environ.get("USER", "operator")[:64] or "operator",
    )


def _report(kind: CommandKind, receipt: CommandReceipt, where: str) -> None:
    key_used = receipt.command.idempotency_key
    if receipt.outcome == "already_decided":
        raise ConfigError(f"{kind.value} REFUSED: key {key_used} was already used for a different command in {where}")
    verb = "queued" if receipt.outcome == "accepted" else "already queued"
    console.print(
        f"{kind.value}: {verb} as {key_used} in {where} (status {receipt.status.value}); "
        "the engine applies it at its next step",
        markup=False,
        soft_wrap=True,
    )


def halt_cmd(  # noqa: PLR0917 - typer options
    reason: ReasonOption,
    flatten: Annotated[bool, typer.Option("--flatten", help="Also close every position at market.")] = False,
    key: KeyOption = None,
    force: ForceOption = False,
    config: ConfigOption = None,
    runner: RunnerOption = None,
    symbol: SymbolOption = None,
) -> None:
    """Kill switch: stop all new entries at once (stops keep being managed); --flatten closes everything."""
    from safety.controls import CommandKind

    _submit(CommandKind.HALT, {"reason": reason, "flatten": flatten}, key, config, force, runner=runner, symbol=symbol)


def resume_cmd(  # noqa: PLR0917 - typer options
    reason: Annotated[str, typer.Option("--reason", help="Why trading may resume.")] = "",
    key: KeyOption = None,
    force: ForceOption = False,
    config: ConfigOption = None,
    runner: RunnerOption = None,
    symbol: SymbolOption = None,
) -> None:
    """Lift a halt or sleep: entries are allowed again (subject to every other limit)."""
    from safety.controls import CommandKind

    _submit(CommandKind.RESUME, {"reason": reason}, key, config, force, runner=runner, symbol=symbol)


def sleep_cmd(  # noqa: PLR0917 - typer options
    minutes: Annotated[
        int, typer.Option("--minutes", min=1, max=MAX_SLEEP_MINUTES, help="How long no new entries are allowed.")
    ],
    reason: ReasonOption,
    key: KeyOption = None,
    force: ForceOption = False,
    config: ConfigOption = None,
    runner: RunnerOption = None,
    symbol: SymbolOption = None,
) -> None:
    """Sleep mode: no new entries for a while (e.g. around news, at most 30 days); lifts by itself."""
    from safety.controls import CommandKind

    _submit(CommandKind.SLEEP, {"minutes": minutes, "reason": reason}, key, config, force, runner=runner, symbol=symbol)


def status_cmd(
    run: Annotated[
        str | None,
        typer.Option("--run", help="A backtest run (id or directory) to read instead of the configured store."),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the kill switch, breakers, open positions and queued commands from the persisted state."""
    from core.settings import load_inert_settings
    from store.factory import describe_store, open_store
    from store.runs import inspected_store

    full = load_inert_settings(config)
    settings = inspected_store(full.store, run, full.backtest.runs_dir)
    store = open_store(settings, create=False)
    try:
        status = {"store": describe_store(settings), **collect_status(store)}
    finally:
        store.close()
    if full.runner.id is not None and run is None:  # several runners: who holds what, lease ages, heartbeats
        from safety.fleet_cli import fleet_status

        status["runners"] = fleet_status(full, full.exchange.symbols)
    if as_json:
        print_json(console, status)
        return
    console.print(render_status(status), markup=False, soft_wrap=True)


def collect_status(store: Store) -> dict[str, Any]:
    from safety.book import BOARD_KEY, ENTRY_PREFIX, POSITION_PREFIX

    board = store.get(BOARD_KEY)
    positions = store.get_many(store.keys(POSITION_PREFIX))
    entries = store.get_many(store.keys(ENTRY_PREFIX))
    return {
        "board": board.value if board else None,
        "positions": [doc.value["position"] for doc in positions.values()],
        "pending_entries": [doc.value for doc in entries.values()],
        "pending_commands": [r.command.model_dump(mode="json") for r in store.pending_commands()],
    }


def _money(amount: object) -> str:
    """An exact amount (a Decimal string in the state) rounded to cents for people; ``--json`` keeps it exact."""
    return f"{Decimal(str(amount)):+,.2f}"


def _ban_line(banned_until: str | None) -> str:
    """The IP ban the engine last saw (Binance 418). A ban past its end reads as over; the engine clears it at
    its first answer after."""
    if banned_until is None:
        return "IP ban: none"
    if datetime.fromisoformat(banned_until) <= WallClock().now():
        return f"IP ban: ended at {banned_until} (cleared at the engine's next answer from Binance)"
    return f"IP ban: BANNED until {banned_until} (nothing is sent)"


def render_status(status: dict[str, Any]) -> str:
    board = status["board"]
    lines = [f"store: {status['store']}"] if "store" in status else []
    if board is None:
        lines.append("no safety state yet (the engine has not run against this store)")
    else:
        controls, trading, exchange = board["controls"], board["trading"], board["exchange"]
        halted = f"HALTED ({controls['halt_reason']})" if controls["halted"] else "not halted"
        sleeping = f", sleeping until {controls['sleep_until']}" if controls["sleep_until"] else ""
        lines += [
            f"kill switch: {halted}{sleeping}",
            f"trading breaker: {trading['state']}"
            + (f" ({trading['reason']})" if trading["reason"] else "")
            + f"; today {trading['trades']} trades, P&L {_money(trading['realized_pnl'])}, "
            f"{trading['agent_orders']} orders",
            f"exchange breaker: {exchange['state']} ({exchange['consecutive_errors']} consecutive errors)",
            _ban_line(board.get("banned_until")),
            f"state saved: {'yes' if board['persistence_ok'] else 'NO - REDUCING'}",
        ]
    lines.append(f"open positions: {len(status['positions'])}")
    lines.extend(
        f"  {p['id']} {p['symbol']} {p['side']} {p['quantity']} @ {p['entry_price']} stop {p['stop_price']}"
        for p in status["positions"]
    )
    lines.append(f"pending entries: {len(status['pending_entries'])}")
    lines.append(f"queued commands: {len(status['pending_commands'])}")
    lines.extend(f"  {c['idempotency_key']} {c['kind']} {c['args']}" for c in status["pending_commands"])
    lines.extend(status.get("runners", []))
    return "\n".join(lines)
