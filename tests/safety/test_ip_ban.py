"""Issue 16 item 4 at the safety layer: during an IP ban nothing is sent, and a human hears of it once.

Binance (``rest-api/limits``): "repeatedly violating rate limits and/or failing to back off after receiving
429s will result in an automated IP ban (HTTP status 418)"; bans escalate from 2 minutes to 3 days and the
answer names the end (``-1003 ... IP banned until <ms>``). Before, ``IpBanned.until`` was read nowhere: the
guard kept polling every 30 s and protective calls went on. Now the safety state holds the ban and its end
(``tradewake status`` shows it), one alert per ban, no entry, no guard order, and the watchdog does not fire
a market exit into the ban. Real ccxt, fed by the recorded-payload fake.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

from core.ids import Symbol
from core.settings import RiskSettings
from safety.cli import collect_status, render_status
from safety.verdicts import VetoCode, Vetoed
from tests.exchange.ccxtkit import ccxt_rig
from tests.safety.desk import open_desk

FBTC = Symbol("BTC/USDT:USDT")
BAN_END = datetime(2024, 1, 1, 0, 10, tzinfo=UTC)
BAN_BODY = {"code": -1003, "msg": f"Way too much request weight used; IP banned until {int(BAN_END.timestamp() * 1000)}."}


async def test_a_ban_stops_every_request_tells_a_human_once_and_no_watchdog_exit_goes_into_it(
    tmp_path: Path,
) -> None:
    rig = ccxt_rig("future")
    rig.venue.on_price("50000", symbol=FBTC)
    desk = await open_desk(rig.broker, tmp_path / "b.sqlite3", rig.clock, {FBTC: D(50000)}, market_type="future",
                           risk=RiskSettings(watchdog_grace_s=0))
    assert (await desk.enter(FBTC, stop=D(48500))).status == "filled"
    rig.fake.fail_next("GET", "/fapi/v3/positionRisk", "status", status=418, body=BAN_BODY)
    rig.clock.advance_by(30)
    report = await desk.safety.guard(rig.clock.now())
    assert any("banned" in e for e in report.errors)
    assert desk.safety.book.board.banned_until == BAN_END
    assert len(desk.alerts("ip_ban")) == 1 and len(desk.journal("safety.ip_banned")) == 1

    sent = len(rig.fake.requests)
    for _ in range(5):  # the guard's 30 s rhythm, and price through the stop: nothing goes out
        rig.clock.advance_by(30)
        desk.safety.mark(FBTC, D(48000), rig.clock.now())
        paused = await desk.safety.guard(rig.clock.now())
        assert paused.errors == [f"IP banned until {BAN_END.isoformat()}: the pass sends nothing"]
    assert len(rig.fake.requests) == sent, "no request during the ban"
    assert len(desk.alerts("ip_ban")) == 1, "one alert per ban"
    entry = desk.safety.check(_entry(), rig.clock.now())
    assert isinstance(entry, Vetoed) and entry.code is VetoCode.IP_BANNED
    assert desk.journal("guard.order_placed")[-1]["order"]["type"] == "stop_market", "no market exit was sent"

    status = render_status(collect_status(desk.store))
    assert "IP ban: ended at 2024-01-01T00:10:00" in status  # saved; the fake's 2024 ban is over by the wall clock
    rig.clock.advance_to(BAN_END + timedelta(seconds=1))
    desk.safety.mark(FBTC, D(50000), rig.clock.now())
    await desk.safety.guard(rig.clock.now())
    assert len(rig.fake.requests) > sent and desk.safety.book.board.banned_until is None
    assert desk.journal("safety.ip_ban_over")


def test_the_status_shows_a_ban_in_force_and_its_end() -> None:
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    board = {
        "controls": {"halted": False, "halt_reason": None, "sleep_until": None},
        "trading": {"state": "closed", "reason": None, "trades": 0, "realized_pnl": "0", "agent_orders": 0},
        "exchange": {"state": "closed", "consecutive_errors": 0},
        "persistence_ok": True,
        "banned_until": until,
    }
    text = render_status({"board": board, "positions": [], "pending_entries": [], "pending_commands": []})
    assert f"IP ban: BANNED until {until} (nothing is sent)" in text


def _entry():  # type: ignore[no-untyped-def]
    from safety.proposals import EntryProposal

    return EntryProposal.model_validate({"symbol": FBTC, "side": "long", "size_pct": 5, "stop_loss": D(48500),
                                         "signals": ("momentum",), "idempotency_key": "k9"})
