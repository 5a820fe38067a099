"""``tradewake data markets``: fetch Binance's spot and USDT-M ``exchangeInfo`` through ccxt and write the
markets file backtests take every symbol's rules from (``exchange.markets``).

It lives in ``engine`` because it joins two packages that may not import each other: the public REST
adapter (``market.ccxt_rest``) fetches, the exchange package owns the file. Mounted under ``data``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from exchange.markets import MarketsFile, MarketType

console = Console()
MARKET_TYPES: tuple[MarketType, ...] = ("spot", "future")
ENDPOINTS = {"spot": "GET /api/v3/exchangeInfo", "future": "GET /fapi/v1/exchangeInfo"}


def markets_cmd(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Markets file to write (default var/markets/binance_markets.json.gz, which "
                     "backtests use instead of the bundled snapshot)."),
    ] = None,
) -> None:
    """Refresh every Binance spot and USDT-M symbol's market rules from the exchange.

    Tick, step, minimum and maximum quantity and minimum notional come from Binance's exchangeInfo
    (two public requests, no key needed); backtests use the file for any symbol.
    """
    import asyncio

    from exchange.markets import USER_MARKETS_FILE, load_markets_file

    path = out or USER_MARKETS_FILE
    _check_writable(path)
    asyncio.run(refresh_markets(path))
    for line in describe(load_markets_file(path)):
        console.print(line, markup=False)


def _check_writable(path: Path) -> None:
    """A user mistake in ``--out`` is said before the two requests, not after them."""
    from core.errors import ConfigError

    if path.is_dir():
        raise ConfigError(f"--out {path} is a directory; name the markets file to write")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise ConfigError(f"--out {path}: {parent} is a file, not a directory")


async def refresh_markets(path: Path) -> None:
    """Fetch both answers (spot, then futures) and write them as one markets file at ``path``."""
    from importlib.metadata import version

    from exchange.markets import markets_document, rules_from_exchange_info, write_markets_file
    from market.ccxt_rest import CcxtRest, make_exchange

    rest = CcxtRest(make_exchange("spot"))
    try:
        answers: list[tuple[Any, ...]] = []
        for market_type in MARKET_TYPES:
            payload = await rest.fetch_exchange_info(market_type)
            rules, _ = rules_from_exchange_info(payload, market_type)
            if not rules:
                from core.errors import OperationalError

                raise OperationalError(f"Binance's {ENDPOINTS[market_type]} answer lists no market with rules")
            source = f"Binance {ENDPOINTS[market_type]} through ccxt {version('ccxt')}"
            answers.append((market_type, payload, source, True, "every symbol of the answer"))
    finally:
        await rest.close()
    write_markets_file(path, markets_document(answers))


def describe(markets: MarketsFile) -> list[str]:
    lines = [f"wrote {markets.path}"]
    for market_type, snapshot in markets.snapshots.items():
        trading = sum(1 for status in snapshot.statuses.values() if status == "TRADING")
        kind = "perpetuals" if market_type == "future" else "markets"
        lines.append(f"  {market_type}: {len(snapshot.rules):,} {kind} ({trading:,} trading) as of "
                     f"{snapshot.server_time:%Y-%m-%d %H:%M} UTC")
    return lines
