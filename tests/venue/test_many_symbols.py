"""Issue 21: the venue replays several symbols on one account (three runners over six symbols need them). A
symbol beyond the two recorded markets takes Binance's own rules from the bundled exchangeInfo snapshot; ccxt
sees every symbol with those rules and trades each on the one account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exchange.markets import bundled_markets
from tests.venue.ccxt_client import client
from tests.venue.conftest import KLINES_1M, venue_config
from venue import Venue

SYMBOLS = ("BTC/USDT:USDT", "BCH/USDT:USDT", "LTC/USDT:USDT")


async def test_one_account_replays_several_symbols_with_binances_rules(tmp_path: Path) -> None:
    config = venue_config("future", tmp_path, data=(KLINES_1M,) * 3, symbols=SYMBOLS)
    async with Venue(config) as venue:
        exchange: Any = client("future", venue.url)
        try:
            markets = await exchange.load_markets()
            assert set(markets) == set(SYMBOLS)
            found = bundled_markets().find("BCH/USDT:USDT", "future")  # type: ignore[arg-type]
            assert found is not None
            bch = found[0]
            assert markets["BCH/USDT:USDT"]["limits"]["cost"]["min"] == float(bch.min_notional)
            assert markets["BCH/USDT:USDT"]["precision"]["amount"] == float(bch.step_size)
            for symbol in SYMBOLS:
                await exchange.create_order(symbol, "market", "buy", 0.05)
            positions = {p["symbol"]: p["contracts"] for p in await exchange.fetch_positions()}
            assert positions == dict.fromkeys(SYMBOLS, 0.05)
        finally:
            await exchange.close()
    orders = [r for r in venue.market.ledger.records if r["kind"] == "order"]
    assert sorted(r["symbol"] for r in orders) == sorted(SYMBOLS)
