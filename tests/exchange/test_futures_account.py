"""USDT-M futures account settings through real ccxt on the recorded-payload fake (issue 16, item 2).

Binance applies the account's settings, whatever safety approved: leverage and margin type per symbol
(``POST /fapi/v1/leverage``, ``POST /fapi/v1/marginType``, read back from ``GET /fapi/v1/symbolConfig``), the
position mode (``GET /fapi/v1/positionSide/dual``: hedge mode needs ``positionSide`` on every order) and
Multi-Assets Mode (``GET /fapi/v1/multiAssetsMargin``: isolated margin refused, -4168). ``positionRisk`` v3
reports the liquidation price but no leverage.
"""

from decimal import Decimal as D

import pytest

from core.errors import OperationalError
from core.ids import Symbol
from core.types import PositionSide, Side
from exchange.binance_account import AccountModes, PositionMode, SymbolSettings
from exchange.liquidation import MaintenanceBracket, MarginType
from tests.exchange.ccxtkit import ccxt_rig
from tests.exchange.simkit import intent

FBTC, FETH = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT")


def public(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k not in ("timestamp", "signature", "recvWindow")}


async def test_leverage_is_set_and_read_back() -> None:
    """``POST /fapi/v1/leverage`` then ``GET /fapi/v1/symbolConfig``: the account's leverage, not the one asked for."""
    rig = ccxt_rig("future")
    settings = await rig.broker.set_leverage(FBTC, 7)
    assert settings == SymbolSettings(FBTC, 7, MarginType.CROSS)
    assert public(rig.fake.sent("POST", "/fapi/v1/leverage")[0].params) == {"symbol": "BTCUSDT", "leverage": "7"}
    assert rig.fake.sent("GET", "/fapi/v1/symbolConfig")
    assert await rig.broker.fetch_symbol_settings() == {
        FBTC: SymbolSettings(FBTC, 7, MarginType.CROSS),
        FETH: SymbolSettings(FETH, 5, MarginType.CROSS),
    }
    with pytest.raises(OperationalError, match="futures"):
        await ccxt_rig("spot").broker.set_leverage(Symbol("BTC/USDT"), 2)


async def test_positions_report_the_leverage_in_force_and_the_liquidation_price() -> None:
    """Leverage changed by hand in the app (20x) is what the position reports, not what we last set."""
    rig = ccxt_rig("future")
    rig.venue.on_price("40000", symbol=FBTC)
    await rig.broker.create_order(intent("tw-in", quantity="1", symbol=FBTC))
    rig.venue.set_leverage(FBTC, 20)
    (position,) = await rig.broker.fetch_positions([FBTC])
    assert (position.leverage, position.margin_type, position.mark_price) == (20, "cross", D(40000))
    wallet = rig.venue.wallet()  # 10,000 minus the 20 USDT taker fee
    assert position.liquidation_price == (wallet - 40000) / (D("0.004") - 1)  # Binance's cross formula
    assert D(30_140) < position.liquidation_price < D(30_141)
    assert await rig.broker.fetch_positions([FETH]) == []


async def test_margin_type_is_changed_only_when_it_differs_and_never_under_a_position() -> None:
    """``POST /fapi/v1/marginType``: -4046 when unchanged (not sent), -4048 with a position (a human must act)."""
    rig = ccxt_rig("future")
    assert (await rig.broker.set_margin_type(FBTC, MarginType.ISOLATED)).margin_type is MarginType.ISOLATED
    assert public(rig.fake.sent("POST", "/fapi/v1/marginType")[0].params) == {
        "symbol": "BTCUSDT",
        "marginType": "ISOLATED",
    }
    await rig.broker.set_margin_type(FBTC, MarginType.ISOLATED)
    assert len(rig.fake.sent("POST", "/fapi/v1/marginType")) == 1  # unchanged: not sent (Binance: -4046)
    rig.venue.on_price("40000", symbol=FBTC)
    await rig.broker.create_order(intent("tw-in", quantity="0.01", symbol=FBTC))
    with pytest.raises(OperationalError, match="Margin type cannot be changed if there exists position"):
        await rig.broker.set_margin_type(FBTC, MarginType.CROSS)


async def test_configure_sets_both_and_refuses_isolated_margin_in_multi_assets_mode() -> None:
    """Multi-Assets Mode refuses isolated margin (-4168): said in one line before any change is sent."""
    rig = ccxt_rig("future")
    assert await rig.broker.account.configure(FBTC, leverage=3, margin=MarginType.ISOLATED) == SymbolSettings(
        FBTC, 3, MarginType.ISOLATED
    )
    rig.fake.multi_assets = True
    with pytest.raises(OperationalError) as refused:
        await rig.broker.account.configure(FETH, leverage=3, margin=MarginType.ISOLATED)
    assert "Multi-Assets Mode" in str(refused.value) and "\n" not in str(refused.value)
    assert not [r for r in rig.fake.sent("POST", "/fapi/v1/marginType") if r.params["symbol"] == "ETHUSDT"]


async def test_hedge_mode_is_refused_with_one_line_that_says_how_to_switch() -> None:
    """``dualSidePosition: true`` (hedge mode) needs ``positionSide`` on every order; tradewake trades one-way."""
    rig = ccxt_rig("future")
    assert await rig.broker.require_one_way() == AccountModes(PositionMode.ONE_WAY, multi_assets=False)
    rig.fake.hedge_mode, rig.fake.multi_assets = True, True
    assert await rig.broker.fetch_account_modes() == AccountModes(PositionMode.HEDGE, multi_assets=True)
    with pytest.raises(OperationalError) as refused:
        await rig.broker.require_one_way()
    message = str(refused.value)
    assert "hedge mode" in message and "One-way" in message and "USDT-M futures demo trading" in message
    assert "\n" not in message


async def test_maintenance_brackets_are_read_for_the_liquidation_check() -> None:
    """``GET /fapi/v1/leverageBracket``: maintenance margin rate and ``cum`` per notional bracket."""
    rig = ccxt_rig("future")
    first, second = await rig.broker.fetch_leverage_brackets(FBTC)
    assert first == MaintenanceBracket(D(0), D(50_000), D("0.004"), D(0), 125)
    assert (second.notional_floor, second.maintenance_rate, second.maintenance_amount) == (50_000, D("0.005"), 50)


async def test_a_short_reports_a_liquidation_price_above_its_entry() -> None:
    """``positionRisk`` v3 ``liquidationPrice``; an isolated 10x short is liquidated about 9.6 % above its entry."""
    rig = ccxt_rig("future", leverage=10)
    rig.venue.on_price("40000", symbol=FBTC)
    await rig.broker.set_margin_type(FBTC, MarginType.ISOLATED)
    await rig.broker.create_order(intent("tw-in", Side.SELL, quantity="0.1", symbol=FBTC))
    (short,) = await rig.broker.fetch_positions()
    assert (short.side, short.leverage, short.margin_type) == (PositionSide.SHORT, 10, "isolated")
    assert short.liquidation_price is not None and D(43_000) < short.liquidation_price < D(44_000)
