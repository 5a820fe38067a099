"""``tradewake exchange ...``: check the keys and the venue of the configured mode before trading.

The venue is the one ``tradewake run`` would trade on (``engine.wiring``: spot testnet through the
sandbox, USDT-M futures testnet through demo trading, mainnet only in mainnet mode with its confirmation,
``exchange.venue_url`` when set), so this command lives beside the composition root, not in ``exchange/``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from core.ratelimit import interval_text

if TYPE_CHECKING:  # settings, the budget, the wiring and ccxt load when the command runs, not at mount
    from core.request_budget import BudgetUsage
    from core.settings import Settings
    from exchange.binance_account import AccountModes, FeeTerms, SymbolSettings
    from exchange.ccxt_broker import CcxtBroker

app = typer.Typer(help="The exchange: check keys and venue before trading.", no_args_is_help=True)
console = Console()


@dataclass
class CheckReport:
    """What ``exchange check`` found, before it is put into words."""

    label: str
    hosts: str
    markets: int
    quote: str
    quote_free: str
    clock_offset_ms: int
    fees: dict[str, FeeTerms]
    budget: BudgetUsage
    budget_shared: bool
    futures: bool
    modes: AccountModes | None = None
    settings: list[SymbolSettings] = field(default_factory=list)
    configured: tuple[int, str] | None = None
    """Futures: the leverage and margin type ``tradewake run`` sets at start-up (``exchange.leverage`` ...)."""


@app.command("check")
def check_cmd(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML settings file (default: $TRADEWAKE_CONFIG or ./tradewake.toml)."),
    ] = None,
) -> None:
    """Check the key and the account on the Binance venue of the configured mode, before trading.

    Measures the clock offset, loads the markets, calls private endpoints and reports: the quote balance,
    the clock offset, who pays fees (BNB or the trade's assets), the request-weight budget in use, and on
    futures the position mode, Multi-Assets Mode and each symbol's leverage and margin type. Spot testnet
    uses the sandbox, USDT-M futures testnet uses Binance demo trading, mainnet needs mode mainnet and its
    confirmation. A refused key fails with the mode and host family named; a hedge-mode account fails with
    one line saying how to switch.
    """
    from core.clock import WallClock
    from core.settings import load_settings
    from engine.exchange_setup import venue_budget
    from engine.wiring import exchange_broker, plan_for
    from exchange.binance_account import require_one_way
    from store.factory import open_store

    settings = load_settings(config)
    clock = WallClock()
    venue = plan_for(settings).venue
    # The budget in use is the one every process on the store shares; a check creates no store of its own.
    store = open_store(settings.store, create=False) if _store_exists(settings) else None
    try:
        budget = venue_budget(venue, store, clock, settings.exchange) if venue is not None else None
        broker = exchange_broker(settings, clock, budget=budget)
        with _retries_on_stdout():
            report = asyncio.run(check_access(broker, settings))
    finally:
        if store is not None:
            store.close()
    for line in report_lines(report):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    if report.modes is not None:
        require_one_way(report.modes, report.label)  # one line, exit 1: tradewake trades one-way mode


def _store_exists(settings: Settings) -> bool:
    """A Redis store is a server (nothing to create); a SQLite store exists when its file does."""
    from store.factory import SqliteTarget, parse_store_url

    target = parse_store_url(settings.store.url)
    return not isinstance(target, SqliteTarget) or target.path.is_file()


@contextmanager
def _retries_on_stdout() -> Iterator[None]:
    """The broker's retries are progress here (``retry 2 in 0.8s``), shown on stdout: stderr keeps one line, the
    failure's, as every command's (a live run keeps them as warnings in its log)."""
    retry_log = logging.getLogger("exchange.retry")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    retry_log.addHandler(handler)
    propagate, retry_log.propagate = retry_log.propagate, False
    try:
        yield
    finally:
        retry_log.removeHandler(handler)
        retry_log.propagate = propagate


async def check_access(broker: CcxtBroker, settings: Settings) -> CheckReport:
    """What the venue says about the key and the account; the broker is closed afterwards."""
    from core.request_budget import MemoryCounter

    try:
        await broker.check_access()
        balances = await broker.fetch_balance()
        markets = len(await broker.load_markets())
        fees = {symbol: await broker.fetch_fee_terms(symbol) for symbol in broker.symbols}
        futures = broker.venue.futures
        modes = await broker.fetch_account_modes() if futures else None
        symbol_settings = list((await broker.fetch_symbol_settings()).values()) if futures else []
        quote = balances.get(settings.exchange.quote)
        report = CheckReport(
            label=broker.venue.label,
            hosts=broker.venue.hosts,
            markets=markets,
            quote=settings.exchange.quote,
            quote_free=str(quote.free if quote else 0),
            clock_offset_ms=broker.clock_offset_ms,
            fees={str(symbol): terms for symbol, terms in fees.items()},
            budget=broker.budget_usage(),
            budget_shared=not isinstance(broker.budget.counter, MemoryCounter),
            futures=futures,
            modes=modes,
            settings=symbol_settings,
            configured=(settings.exchange.leverage, settings.exchange.margin_type) if futures else None,
        )
    finally:
        await broker.close()
    return report


def report_lines(report: CheckReport) -> list[str]:
    from exchange.binance_account import PositionMode

    lines = [
        f"ok: Binance {report.label} ({report.hosts}) accepted the key; {report.markets} markets loaded",
        f"{report.quote} available: {report.quote_free}",
        f"clock offset: {report.clock_offset_ms:+d} ms (Binance's clock minus this host's; signed requests use it)",
    ]
    if report.modes is not None:
        mode = "one-way" if report.modes.position_mode is PositionMode.ONE_WAY else "HEDGE (not supported)"
        multi = "on" if report.modes.multi_assets else "off"
        lines.append(f"position mode: {mode}; Multi-Assets Mode: {multi}")
    lines += [symbol_line(s, report.configured) for s in report.settings]
    lines += [
        f"{symbol} fees paid in: {terms.describe(futures=report.futures, quote=report.quote)}"
        for symbol, terms in report.fees.items()
    ]
    lines.append(budget_line(report.budget, shared=report.budget_shared))
    return lines


def symbol_line(found: SymbolSettings, configured: tuple[int, str] | None) -> str:
    line = f"{found.symbol}: leverage {found.leverage}x, {found.margin_type} margin"
    if configured is not None and (found.leverage, found.margin_type.value) != configured:
        line += f" (tradewake run sets {configured[0]}x, {configured[1]} margin at start-up)"
    return line


def budget_line(usage: BudgetUsage, *, shared: bool) -> str:
    scope = "shared through the store" if shared else "this process only"
    parts = [
        f"{u.limit.counts.value} {u.used}/{u.limit.capacity} "
        f"per {interval_text(u.limit.interval_s)} ({u.scope_id.split(':', 1)[0]})"
        for u in usage.limits
    ]
    blocked = f"; BLOCKED ({usage.blocked.kind}) until {usage.blocked.until.isoformat()}" if usage.blocked else ""
    return f"request budget ({scope}): {', '.join(parts)}{blocked}"
