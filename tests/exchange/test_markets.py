"""Market rules for any symbol: Binance exchangeInfo answers -> rules, the markets file, the bundled snapshot,
and rules inferred from a candle series for a symbol the file lacks (issue 18, part 4)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ConfigError
from core.ids import Symbol
from exchange.markets import (
    USER_MARKETS_FILE,
    MarketsFileError,
    bundled_markets,
    default_markets,
    infer_rules,
    load_markets_file,
    markets_document,
    parse_markets_document,
    price_decimals,
    rules_from_exchange_info,
    trim_exchange_info,
    write_markets_file,
)
from exchange.sim.markets import binance_futures_markets, binance_spot_markets, market_rules_for
from market.bundled import BTC_1H, bundled_path
from tests.conftest import FIXTURES, SHARED_DATA

SPOT_2022 = FIXTURES / "market" / "binance_spot_exchangeInfo_2022-11-28_head.json"
FAPI_2022 = FIXTURES / "market" / "binance_fapi_exchangeInfo_2022-05-04_head.json"


def answer(path: Path) -> dict:
    return json.loads(path.read_text())


def ohlc(path: Path) -> np.ndarray:
    return pd.read_csv(path)[["open", "high", "low", "close"]].to_numpy()


# ---------------------------------------------------------------- exchangeInfo -> rules


def test_a_real_2022_spot_answer_gives_every_symbol_its_filters() -> None:
    rules, skipped = rules_from_exchange_info(answer(SPOT_2022), "spot")
    assert skipped == []
    assert list(rules) == ["ETH/BTC", "LTC/BTC", "BCC/BTC", "BTC/USDT"]
    eth = rules[Symbol("ETH/BTC")]
    assert (eth.base, eth.quote, eth.contract) == ("ETH", "BTC", False)
    assert (eth.tick_size, eth.step_size, eth.min_qty) == (Decimal("0.000001"), Decimal("0.0001"), Decimal("0.0001"))
    assert (eth.max_qty, eth.min_notional) == (Decimal(100000), Decimal("0.0001"))
    assert (eth.maker_fee, eth.taker_fee) == (Decimal("0.001"), Decimal("0.001")), "exchangeInfo has no fees: VIP 0"
    assert rules[Symbol("BTC/USDT")].min_notional == Decimal(10), "the pre-2023 MIN_NOTIONAL filter"


def test_the_recorded_fixture_answers_give_exactly_the_recorded_markets() -> None:
    """The simulator's recorded markets and the ccxt fixtures' exchangeInfo (NOTIONAL filter, futures
    MIN_NOTIONAL.notional) are the same numbers; the parser must read them back exactly."""
    spot, _ = rules_from_exchange_info(answer(FIXTURES / "binance" / "spot" / "exchange_info.json"), "spot")
    futures, _ = rules_from_exchange_info(answer(FIXTURES / "binance" / "futures" / "exchange_info.json"), "future")
    assert spot == {m.symbol: m for m in binance_spot_markets()}
    assert futures == {m.symbol: m for m in binance_futures_markets()}


def test_futures_keep_perpetuals_only() -> None:
    rules, skipped = rules_from_exchange_info(answer(FAPI_2022), "future")
    assert sorted(skipped) == ["BTCSTUSDT", "BTCUSDT_220624"], "not yet trading, and a quarterly contract"
    xrp = rules[Symbol("XRP/USDT:USDT")]
    assert xrp.contract and (xrp.tick_size, xrp.step_size, xrp.min_notional) == (
        Decimal("0.0001"), Decimal("0.1"), Decimal(5))
    assert (xrp.maker_fee, xrp.taker_fee) == (Decimal("0.0002"), Decimal("0.0005"))


def test_an_answer_without_symbols_is_refused() -> None:
    with pytest.raises(MarketsFileError, match="no 'symbols' list"):
        rules_from_exchange_info({"code": -1003, "msg": "banned"}, "spot")


@pytest.mark.parametrize(("path", "market_type"), [(SPOT_2022, "spot"), (FAPI_2022, "future")])
def test_trimming_keeps_binance_shape_and_every_rule(path: Path, market_type: str) -> None:
    raw = answer(path)
    trimmed = trim_exchange_info(raw)
    assert trimmed["serverTime"] == raw["serverTime"]
    assert len(json.dumps(trimmed)) < len(json.dumps(raw)) / 3
    assert {f["filterType"] for s in trimmed["symbols"] for f in s["filters"]} <= {
        "PRICE_FILTER", "LOT_SIZE", "NOTIONAL", "MIN_NOTIONAL"}
    assert rules_from_exchange_info(trimmed, market_type) == rules_from_exchange_info(raw, market_type)


# ---------------------------------------------------------------- the file


@pytest.mark.parametrize("name", ["markets.json", "markets.json.gz"])
def test_a_written_file_reads_back(tmp_path: Path, name: str) -> None:
    document = markets_document([
        ("spot", answer(SPOT_2022), "test spot", False, "four symbols"),
        ("future", answer(FAPI_2022), "test futures", True, ""),
    ])
    path = tmp_path / "sub" / name
    write_markets_file(path, document)
    markets = load_markets_file(path)
    assert set(markets.snapshots) == {"spot", "future"}
    spot = markets.snapshots["spot"]
    assert spot.server_time.isoformat() == "2022-11-28T01:05:44.331000+00:00" and not spot.complete
    assert spot.statuses[Symbol("BCC/BTC")] == "BREAK"
    assert markets.find(Symbol("LTC/BTC"), "spot") is not None
    assert markets.find(Symbol("LTC/BTC"), "future") is None
    assert "2022-11-28" in spot.describe() and "4 symbols (a subset)" in spot.describe()


def test_a_foreign_or_broken_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MarketsFileError, match="not a tradewake-markets/1 file"):
        parse_markets_document({"symbols": []}, "x.json")
    broken = tmp_path / "m.json.gz"
    broken.write_bytes(b"not gzip")
    with pytest.raises(MarketsFileError, match="cannot read the markets file"):
        load_markets_file(broken)


def test_the_bundled_snapshot_is_the_documented_one() -> None:
    markets = bundled_markets()
    spot, futures = markets.snapshots["spot"], markets.snapshots["future"]
    assert (len(spot.rules), spot.complete, f"{spot.server_time:%Y-%m-%d}") == (24, False, "2022-11-28")
    assert (len(futures.rules), futures.complete, f"{futures.server_time:%Y-%m-%d}") == (152, True, "2022-05-04")
    assert "SM2A/Binance_API" in spot.source and "31eec6ced00c2946728c437ffe7b9cd4c789da67" in spot.source
    assert Symbol("ETH/BTC") in spot.rules and Symbol("XRP/USDT:USDT") in futures.rules
    assert all(r.tick_size > 0 and r.step_size > 0 and r.min_qty > 0 for s in (spot, futures) for r in s.rules.values())


def test_recorded_markets_keep_todays_values_over_the_2022_snapshot() -> None:
    """Why the golden backtest is unchanged: the 2022 answer says BTC/USDT needs 10 USDT (MIN_NOTIONAL), the
    recorded market (and Binance since 2023) 5; the recorded markets win, the file supplies the others."""
    from_file, _ = bundled_markets().find(Symbol("BTC/USDT"), "spot") or (None, None)
    recorded = {m.symbol: m for m in binance_spot_markets()}[Symbol("BTC/USDT")]
    assert from_file is not None and from_file.min_notional == Decimal(10) != recorded.min_notional
    assert from_file.model_copy(update={"min_notional": recorded.min_notional}) == recorded
    resolved = market_rules_for(Symbol("BTC/USDT"), "spot")
    assert (resolved.origin, resolved.rules, resolved.facts()) == ("recorded", recorded, {})


def test_a_refreshed_user_file_wins_over_the_bundled_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert default_markets() is bundled_markets()
    write_markets_file(USER_MARKETS_FILE, markets_document([("spot", answer(SPOT_2022), "refreshed", True, "")]))
    markets = default_markets()
    assert markets.path == str(USER_MARKETS_FILE) and set(markets.snapshots) == {"spot"}
    resolved = market_rules_for(Symbol("LTC/BTC"), "spot")
    assert resolved.origin == "markets file" and "refreshed" in resolved.detail


# ---------------------------------------------------------------- inference


@pytest.mark.parametrize(
    ("path", "decimals"),
    [
        (SHARED_DATA / "unknown_ETH-BTC_5m.csv", 8),  # float artefacts such as 0.09946999000000001
        (SHARED_DATA / "binance_ADA-BTC_1h.csv", 8),  # written as 4.91e-06
        (bundled_path(BTC_1H), 2),
    ],
)
def test_price_decimals_of_real_files(path: Path, decimals: int) -> None:
    assert price_decimals(ohlc(path)) == decimals


@given(
    st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=20),
    st.integers(min_value=0, max_value=8),
)
def test_price_decimals_finds_the_decimals_prices_were_written_with(units: list[int], decimals: int) -> None:
    prices = [float(Decimal(u).scaleb(-decimals)) for u in units]
    found = price_decimals(prices)
    assert found <= decimals
    if any(u % 10 for u in units):
        assert found == decimals


def test_inferred_rules_for_a_symbol_the_file_lacks() -> None:
    prices = ohlc(SHARED_DATA / "binance_ADA-BTC_1h.csv")
    resolved = market_rules_for(Symbol("ADA/BTC"), "spot", prices=prices)
    rules = resolved.rules
    assert resolved.origin == "inferred" and resolved.warning is not None
    assert "ADA/BTC is not in the markets file" in resolved.warning and "tick 0.00000001" in resolved.warning
    assert (rules.tick_size, rules.min_notional) == (Decimal("0.00000001"), Decimal("0.0001")), "BTC markets' notional"
    assert rules.step_size * Decimal(str(prices.max())) <= rules.min_notional / 10, "rounding down costs < 10 %"
    assert rules.step_size * 10 * Decimal(str(prices.max())) > rules.min_notional / 10, "the largest such step"
    assert set(resolved.facts()) == {"market_rules", "market_rules_warning"}
    qty, _ = rules.checked_order(Decimal("0.001") / Decimal(str(prices.max())), Decimal(str(prices.max())))
    assert qty > 0


def test_an_unknown_quote_asset_gets_the_finest_step_and_no_minimum() -> None:
    rules, how = infer_rules(Symbol("FOO/XYZ"), "spot", [1.25, 1.5], bundled_markets())
    assert (rules.tick_size, rules.step_size, rules.min_notional) == (Decimal("0.01"), Decimal("0.00000001"), 0)
    assert "min notional 0 XYZ" in how


def test_without_candles_a_missing_symbol_says_how_to_get_its_rules() -> None:
    with pytest.raises(ConfigError, match="tradewake data markets"):
        market_rules_for(Symbol("FOO/XYZ"), "spot")


@given(
    st.lists(st.integers(min_value=1, max_value=10**9), min_size=2, max_size=30),
    st.integers(min_value=0, max_value=8),
    st.sampled_from(["BTC", "ETH", "USDT", "XYZ"]),
)
def test_inferred_rules_keep_every_price_and_round_quantities_cheaply(units: list[int], decimals: int, quote: str) -> None:
    """Every price of the series lies on the inferred tick (quantizing it is a no-op), and one quantity step
    at the highest price is worth at most a tenth of the minimum notional (or the finest step when unknown)."""
    prices = [float(Decimal(u).scaleb(-decimals)) for u in units]
    rules, _ = infer_rules(Symbol(f"FOO/{quote}"), "spot", prices, bundled_markets())
    for price in prices:
        exact = Decimal(repr(price)).quantize(Decimal(1).scaleb(-decimals))
        assert rules.price(exact) == exact
    if rules.min_notional > 0:
        assert rules.step_size * Decimal(repr(max(prices))) <= rules.min_notional / 10 or rules.step_size == Decimal(
            "0.00000001")
    else:
        assert rules.step_size == Decimal("0.00000001")
