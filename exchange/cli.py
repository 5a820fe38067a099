"""``tradewake exchange ...``: operator commands of the exchange layer."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:  # settings load when the command runs, not when the CLI starts
    from core.settings import Settings

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
    from core.settings import load_settings

    settings = load_settings(config)
    label, hosts, markets, quote = asyncio.run(_check(settings))
    console.print(f"ok: Binance {label} ({hosts}) accepted the key; {markets} markets loaded", markup=False)
    console.print(f"{settings.exchange.quote} available: {quote}", markup=False)


async def _check(settings: Settings) -> tuple[str, str, int, str]:
    from core.clock import WallClock
    from exchange.ccxt_broker import CcxtBroker

    broker = CcxtBroker.from_settings(settings, clock=WallClock())
    try:
        await broker.check_access()
        balances = await broker.fetch_balance()
        markets = len(await broker.load_markets())
    finally:
        await broker.close()
    quote = balances.get(settings.exchange.quote)
    return broker.venue.label, broker.venue.hosts, markets, str(quote.free if quote else 0)
