"""The operator CLI's side of several runners: queue a command in each addressed runner's queue, and the
runners' lines of ``tradewake status`` (``safety.fleet`` decides; this reads Redis and submits)."""

from __future__ import annotations

from core.clock import WallClock
from core.errors import ConfigError
from core.ids import Symbol
from core.ports import CommandReceipt, OperatorCommand
from core.settings import Settings
from core.timeframes import datetime_to_ms
from safety.fleet import NoTarget, Target, fleet_lines, targets


def submit_to_fleet(
    settings: Settings, command: OperatorCommand, *, runner: str | None, symbol: str | None
) -> list[tuple[Target, CommandReceipt]]:
    """Queue ``command`` (one idempotency key) for every addressed runner; each applies it exactly once."""
    from store.leases import RedisLeases
    from store.redis_store import RedisStore

    leases = RedisLeases(settings.store.url, settings.runner.account_namespace)
    try:
        live, _ = leases.heartbeats()
        held = leases.read([Symbol(symbol)], datetime_to_ms(WallClock().now())) if symbol else None
        books = leases.books()
    finally:
        leases.close()
    try:
        chosen = targets(
            books, [h.runner for h in live], runner=runner, symbol=Symbol(symbol) if symbol else None, leases=held
        )
    except NoTarget as exc:
        raise ConfigError(f"{command.kind} NOT queued: {exc}") from exc
    receipts = []
    for target in chosen:
        store = RedisStore(settings.store.url, target.book_namespace)
        try:
            receipts.append((target, store.submit_command(command)))
        finally:
            store.close()
    return receipts


def fleet_status(settings: Settings, symbols: tuple[str, ...]) -> list[str]:
    """The runners, their symbols with lease time left, heartbeat ages; expired runners; unheld symbols."""
    from store.leases import RedisLeases

    leases = RedisLeases(settings.store.url, settings.runner.account_namespace)
    try:
        live, gone = leases.heartbeats()
        now_ms = datetime_to_ms(WallClock().now())
        wanted = sorted({*symbols, *(s for h in live for s in h.symbols)})
        held = leases.read([Symbol(s) for s in wanted], now_ms)
    finally:
        leases.close()
    return fleet_lines([(h.runner, h.symbols, h.at_ms) for h in live], gone, held, now_ms)
