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
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:  # settings, the wiring and ccxt load when the command runs, not when the CLI starts
    from core.settings import Settings
    from exchange.ccxt_broker import CcxtBroker

app = typer.Typer(help="The exchange: check keys and venue before trading.", no_args_is_help=True)
console = Console()


@app.command("check")
def check_cmd(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML settings file (default: $TRADEWAKE_CONFIG or ./tradewake.toml)."),
    ] = None,
) -> None:
    """Load the markets and call one private endpoint on the Binance venue of the configured mode.

    Spot testnet uses the sandbox, USDT-M futures testnet uses Binance demo trading, mainnet needs
    mode mainnet and its confirmation. A refused key fails with the mode and host family named.
    """
    from core.clock import WallClock
    from core.settings import load_settings
    from engine.wiring import exchange_broker

    settings = load_settings(config)
    broker = exchange_broker(settings, WallClock())
    with _retries_on_stdout():
        label, hosts, markets, quote = asyncio.run(check_access(broker, settings))
    console.print(f"ok: Binance {label} ({hosts}) accepted the key; {markets} markets loaded", markup=False)
    console.print(f"{settings.exchange.quote} available: {quote}", markup=False)


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


async def check_access(broker: CcxtBroker, settings: Settings) -> tuple[str, str, int, str]:
    """Venue label, hosts, markets loaded and the quote balance; the broker is closed afterwards."""
    try:
        await broker.check_access()
        balances = await broker.fetch_balance()
        markets = len(await broker.load_markets())
    finally:
        await broker.close()
    quote = balances.get(settings.exchange.quote)
    return broker.venue.label, broker.venue.hosts, markets, str(quote.free if quote else 0)
