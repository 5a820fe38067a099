"""Guard passes read ``symbolConfig`` once, not once a pass (issue 21 follow-up: request weight).

A guard pass decorates each open futures position with the leverage and margin type in force
(``positionRisk`` v3 carries neither): ``GET /fapi/v1/symbolConfig``, 5 request weight, used to go out on every
pass of every runner. The broker now remembers them; our own setting (``set_leverage``, ``set_margin_type``:
what a start's ``configure`` does) forgets and reads back, an explicit read refreshes them, and the account's
user-data stream saying they changed (``AccountStream(on_config=...)``, ``tests/venue/test_account_config.py``)
makes the next pass read them again. Real ccxt and the real ``SafetyService`` on the recorded-payload fake.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from core.ids import Symbol
from core.settings import RiskSettings
from exchange.account_stream import is_config_change
from exchange.binance_account import SymbolSettings
from exchange.liquidation import MarginType
from tests.exchange.ccxtkit import CcxtRig, ccxt_rig
from tests.safety.desk import Desk, open_desk

FBTC, FETH = Symbol("BTC/USDT:USDT"), Symbol("ETH/USDT:USDT")
PASSES = 10


def config_reads(rig: CcxtRig) -> int:
    return len(rig.fake.sent("GET", "/fapi/v1/symbolConfig"))


async def guard_passes(desk: Desk, rig: CcxtRig, count: int) -> None:
    for _ in range(count):
        rig.clock.advance_by(1)
        report = await desk.safety.guard(rig.clock.now())
        assert not report.errors, report.errors


async def leverage_reported(rig: CcxtRig) -> D:
    (position,) = await rig.broker.fetch_positions([FBTC])
    return position.leverage


async def desk_with_a_position(tmp_path: Path) -> tuple[CcxtRig, Desk]:
    rig = ccxt_rig("future")
    rig.venue.on_price("50000", symbol=FBTC)
    desk = await open_desk(rig.broker, tmp_path / "b.sqlite3", rig.clock, {FBTC: D(50000)}, market_type="future",
                           risk=RiskSettings())
    assert (await desk.enter(FBTC, stop=D(48500))).status == "filled"
    return rig, desk


async def test_guard_passes_over_a_position_read_the_symbols_settings_once(tmp_path: Path) -> None:
    rig, desk = await desk_with_a_position(tmp_path)
    before = config_reads(rig)
    positions = len(rig.fake.sent("GET", "/fapi/v3/positionRisk"))
    await guard_passes(desk, rig, PASSES)
    assert len(rig.fake.sent("GET", "/fapi/v3/positionRisk")) - positions >= PASSES, "each pass reads the position"
    assert config_reads(rig) - before <= 1, f"{config_reads(rig) - before} symbolConfig reads in {PASSES} passes"
    assert await leverage_reported(rig) == 5


async def test_our_own_setting_is_what_the_position_reports_without_another_read(tmp_path: Path) -> None:
    rig, desk = await desk_with_a_position(tmp_path)
    await guard_passes(desk, rig, 2)
    assert await rig.broker.set_leverage(FBTC, 3) == SymbolSettings(FBTC, 3, MarginType.CROSS)  # read back: 1 read
    after_setting = config_reads(rig)
    await guard_passes(desk, rig, PASSES)
    assert await leverage_reported(rig) == 3
    assert config_reads(rig) == after_setting, "the read-back is what passes report"


async def test_a_change_by_someone_else_is_read_once_the_broker_forgets(tmp_path: Path) -> None:
    """A person sets 20x in the app: remembered 5x until the stream says the settings changed (the live run's
    ``AccountStream`` calls ``forget_symbol_settings``); then one read, and every pass after reports 20x."""
    rig, desk = await desk_with_a_position(tmp_path)
    await guard_passes(desk, rig, 1)
    rig.venue.set_leverage(FBTC, 20)
    assert await leverage_reported(rig) == 5
    before = config_reads(rig)
    rig.broker.forget_symbol_settings()
    await guard_passes(desk, rig, PASSES)
    assert config_reads(rig) - before == 1
    assert await leverage_reported(rig) == 20


async def test_an_explicit_read_refreshes_what_passes_report(tmp_path: Path) -> None:
    """The drift check before a symbol's first entry and a start's reconciliation read the exchange, always."""
    rig, desk = await desk_with_a_position(tmp_path)
    await guard_passes(desk, rig, 1)
    rig.venue.set_leverage(FBTC, 15)
    before = config_reads(rig)
    assert (await rig.broker.fetch_symbol_settings([FBTC]))[FBTC].leverage == 15
    assert config_reads(rig) == before + 1
    await guard_passes(desk, rig, 3)
    assert await leverage_reported(rig) == 15 and config_reads(rig) == before + 1


async def test_forgetting_one_symbol_keeps_the_others() -> None:
    rig = ccxt_rig("future")
    await rig.broker.fetch_symbol_settings([FBTC, FETH])
    rig.venue.set_leverage(FBTC, 9)
    rig.venue.set_leverage(FETH, 8)
    rig.broker.forget_symbol_settings([FBTC])
    settings = await rig.broker.account.remembered_settings([FBTC, FETH])
    assert (settings[FBTC].leverage, settings[FETH].leverage) == (9, 5)


def test_which_user_data_events_change_the_settings() -> None:
    """USDⓈ-M: ``ACCOUNT_CONFIG_UPDATE`` (leverage ``ac``, Multi-Assets Mode ``ai``); a margin type change is an
    ``ACCOUNT_UPDATE`` with reason ``MARGIN_TYPE_CHANGE``. Fills and funding are not."""
    assert is_config_change({"e": "ACCOUNT_CONFIG_UPDATE", "E": 1, "T": 1, "ac": {"s": "BTCUSDT", "l": 25}})
    assert is_config_change({"e": "ACCOUNT_CONFIG_UPDATE", "E": 1, "T": 1, "ai": {"j": True}})
    assert is_config_change({"e": "ACCOUNT_UPDATE", "a": {"m": "MARGIN_TYPE_CHANGE", "B": [], "P": []}})
    assert not is_config_change({"e": "ACCOUNT_UPDATE", "a": {"m": "ORDER", "B": [], "P": []}})
    assert not is_config_change({"e": "ORDER_TRADE_UPDATE", "o": {}})
    assert not is_config_change([{"e": "ACCOUNT_CONFIG_UPDATE"}])


async def test_a_sweep_over_several_positions_reads_positionrisk_once(tmp_path: Path) -> None:
    """``positionRisk`` lists every open position for 5 weight: a sweep reads it once for all it guards (and again
    only after an order-side write of its own), not once per position."""
    rig = ccxt_rig("future")
    rig.venue.on_price("50000", symbol=FBTC)
    rig.venue.on_price("3000", symbol=FETH)
    desk = await open_desk(rig.broker, tmp_path / "b.sqlite3", rig.clock, {FBTC: D(50000), FETH: D(3000)},
                           market_type="future", risk=RiskSettings())
    assert (await desk.enter(FBTC, stop=D(48500), key="k1")).status == "filled"
    assert (await desk.enter(FETH, stop=D(2900), key="k2", size_pct=5)).status == "filled"
    await guard_passes(desk, rig, 1)  # anything left to settle after the entries
    before = len(rig.fake.sent("GET", "/fapi/v3/positionRisk"))
    await guard_passes(desk, rig, PASSES)
    assert len(desk.safety.portfolio().positions) == 2
    assert len(rig.fake.sent("GET", "/fapi/v3/positionRisk")) - before == PASSES
