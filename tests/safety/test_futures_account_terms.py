"""Issue 16 item 2 at start-up and in the safety layer: the futures account's own settings decide.

Binance USDⓈ-M: leverage and margin type are per symbol on the account (``POST /fapi/v1/leverage``, ``POST
/fapi/v1/marginType``, read back with ``GET /fapi/v1/symbolConfig``), the position mode account-wide (``GET
/fapi/v1/positionSide/dual``: ``dualSidePosition`` true is hedge mode); the exchange margins and liquidates a
position by them whatever was approved. An isolated 20x long is liquidated about 4.6 % below its entry
(USDⓈ-M "Liquidation Price Calculation"), inside the 8 % stop distance the default limits allow. Real ccxt,
fed by the recorded-payload fake.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from core.errors import OperationalError
from core.ids import Symbol
from core.settings import ExchangeSettings, RiskSettings, Settings
from engine.exchange_setup import configure_account, expected_terms
from exchange.liquidation import MarginType
from safety.proposals import EntryProposal
from safety.service import ExpectedTerms
from safety.verdicts import VetoCode, Vetoed
from tests.exchange.ccxtkit import ccxt_rig
from tests.safety.desk import open_desk

FBTC = Symbol("BTC/USDT:USDT")


def futures(leverage: int = 3, margin: str = "cross") -> ExchangeSettings:
    return ExchangeSettings(market_type="future", symbols=("BTC/USDT",), leverage=leverage, margin_type=margin)


async def test_start_up_sets_margin_type_and_leverage_and_reads_them_back() -> None:
    rig = ccxt_rig("future", leverage=20)
    rig.fake.margin_types["BTCUSDT"] = "ISOLATED"
    found = await configure_account(rig.broker, futures(leverage=3, margin="cross"))
    assert {(s.symbol, s.leverage, s.margin_type) for s in found} == {
        (Symbol("BTC/USDT:USDT"), 3, MarginType.CROSS), (Symbol("ETH/USDT:USDT"), 3, MarginType.CROSS)}
    assert rig.venue.leverage(FBTC) == 3 and rig.fake.margin_types["BTCUSDT"] == "CROSSED"
    assert rig.fake.sent("GET", "/fapi/v1/symbolConfig"), "read back, not assumed"


async def test_a_hedge_mode_account_is_refused_at_start_up_with_one_line() -> None:
    rig = ccxt_rig("future")
    rig.fake.hedge_mode = True
    with pytest.raises(OperationalError) as refused:
        await configure_account(rig.broker, futures())
    assert "hedge mode" in str(refused.value) and "\n" not in str(refused.value)
    assert not rig.fake.sent("POST", "/fapi/v1/leverage"), "nothing is changed on a refused account"


def test_leverage_above_the_cap_fails_before_anything_starts() -> None:
    with pytest.raises(ValueError, match=r"exchange\.leverage 5 is above"):
        Settings(exchange=futures(leverage=5), risk=RiskSettings(max_leverage=3))


async def test_the_veto_judges_entries_by_the_accounts_terms(tmp_path: Path) -> None:
    rig = ccxt_rig("future", leverage=20)
    rig.fake.margin_types["BTCUSDT"] = "ISOLATED"
    rig.venue.on_price("50000", symbol=FBTC)
    desk = await open_desk(rig.broker, tmp_path / "f.sqlite3", rig.clock, {FBTC: D(50000)}, market_type="future",
                           traded=(FBTC,))
    wide = EntryProposal.model_validate({"symbol": FBTC, "side": "long", "size_pct": 10, "stop_loss": D(46000),
                                         "signals": ("momentum",), "idempotency_key": "k"})
    verdict = desk.safety.check(wide, rig.clock.now())
    assert isinstance(verdict, Vetoed) and verdict.code is VetoCode.STOP_BEYOND_LIQUIDATION
    assert "20x isolated" in verdict.message
    result = await desk.enter(FBTC, stop=D(48500))  # 3 % from the entry: clears the liquidation price
    assert result.status == "filled", result.message


async def test_an_entry_on_settings_changed_by_hand_is_not_sent(tmp_path: Path) -> None:
    """Set at start-up, then changed in the Binance app: the first entry reads them again and stops."""
    rig = ccxt_rig("future", leverage=3)
    rig.venue.on_price("50000", symbol=FBTC)
    expected = expected_terms(futures(leverage=3), on_exchange=True)
    assert expected == ExpectedTerms(3, MarginType.CROSS)
    desk = await open_desk(rig.broker, tmp_path / "d.sqlite3", rig.clock, {FBTC: D(50000)}, market_type="future",
                           traded=(FBTC,), expected_terms=expected)
    rig.venue.set_leverage(FBTC, 20)  # a person raises the leverage after start-up
    result = await desk.enter(FBTC, stop=D(48500))
    assert result.status == "not_sent" and "20x cross" in result.message and "3x cross" in result.message
    assert not rig.fake.sent("POST", "/fapi/v1/order"), "no order on drifted settings"
    assert desk.alerts("account_settings") and desk.journal("entry.refused")
    rig.venue.set_leverage(FBTC, 3)
    assert (await desk.enter(FBTC, stop=D(48500), key="k2")).status == "filled"
