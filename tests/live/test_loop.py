"""The live loop against the venue: the operator's queue first, funding on its own schedule, and the watchdogs (a
silent websocket noticed within ``gate.feed_stale_s`` with the heartbeat ageing and a human alerted; a reconnect
storm opening the exchange breaker while the loop goes on)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from core.ids import Symbol
from core.ports import OperatorCommand
from engine.live_health import ReconnectStorm, RestPause
from tests.live.harness import live_settings, play, running_bot, until, venue_config
from venue import FaultConfig, FaultRule, Venue, WireFault


async def test_a_queued_halt_is_applied_first_and_blocks_the_next_candles_wake(tmp_path: Path) -> None:
    async with Venue(venue_config(tmp_path)) as venue:
        settings = live_settings(venue, tmp_path, every_candle=True)
        async with running_bot(settings) as bot:
            await play(venue, 2)
            bot.run.store.submit_command(OperatorCommand(kind="halt", args={"reason": "test"}, idempotency_key="h1",
                                                         submitted_by="test", submitted_at=bot.loop.clock.now()))
            await play(venue, 6)
            await until(lambda: bool(bot.journal("wake.blocked")), what="a blocked wake")
            assert not bot.run.store.pending_commands(), "the halt was taken off the queue"
            assert bot.loop.stepped["commands_pending"] <= 1, "applied once (by a step or by the guardian)"
            assert all(e.payload["reason"].startswith("halted") for e in bot.journal("wake.blocked"))
            assert not bot.journal("decision"), "no decision while halted"


async def test_futures_poll_funding_on_their_own_schedule_and_snapshots_show_it(tmp_path: Path) -> None:
    async with Venue(venue_config(tmp_path, market="future")) as venue:
        settings = live_settings(venue, tmp_path, market="future")
        async with running_bot(settings) as bot:
            await play(venue, 24)  # six candles: 30 venue minutes
            await until(lambda: bot.loop.stepped["derivatives_updated"] >= 2, what="two funding readings")
            symbol = Symbol("BTC/USDT:USDT")
            snapshot = bot.run.engine.market.snapshot(symbol, bot.loop.clock.now())
            assert snapshot.derivatives is not None
            assert snapshot.derivatives.funding_rate == 0.0001, "the venue's funding rate"
            assert bot.loop.stepped["derivatives_updated"] <= 6, "polled every 5 to 15 minutes, not every step"


async def test_a_silent_websocket_is_noticed_within_feed_stale_s_the_heartbeat_ages_and_a_human_is_alerted(
    tmp_path: Path,
) -> None:
    heartbeat = tmp_path / "heartbeat"
    async with Venue(venue_config(tmp_path)) as venue:
        settings = live_settings(venue, tmp_path)
        stale_s = settings.gate.feed_stale_s
        async with running_bot(settings, heartbeat=heartbeat, time_sync_wall_s=0.1) as bot:
            await play(venue, 4, pause_s=0.1)
            await until(heartbeat.exists, what="the first heartbeat")
            beat = heartbeat.read_text(encoding="utf-8")
            venue.hub.silence(venue.market.wall_ms() + 60_000)  # market streams open but quiet for a minute
            silent_from = datetime.fromisoformat(beat.strip())
            last_heard = bot.loop.clock.now()
            await play(venue, 8, pause_s=0.3)  # two candles of venue time: 600 s > feed_stale_s
            await until(lambda: bool(_alerts(bot, "feed_stale")), what="the feed_stale alert")
            (silent,) = bot.journal("feed.silent")
            noticed_after = (silent.at - last_heard).total_seconds()
            # The bot measures from its last market message, which reached it before the test read the clock
            # (on a loaded machine, a fraction of a second of sped-up exchange time earlier): the lower bound is
            # the bot's own silence, the upper bound the test's.
            assert silent.payload["silent_s"] >= stale_s, silent.payload
            assert noticed_after <= stale_s + 75 + 30, "one replay step (75 s) and one timer tick of slack"
            assert "websocket silent" in _alerts(bot, "feed_stale")[0]["message"]
            assert heartbeat.read_text(encoding="utf-8") == beat, "no market data, no heartbeat: the file ages"
            assert datetime.fromisoformat(beat.strip()) == silent_from
            assert bot.loop.stepped["stream_reset"] == 1, "the market sockets were dialled again, once"
            venue.hub.silenced_until_ms = 0  # the silence ends
            await play(venue, 4, pause_s=0.1)
            await until(lambda: heartbeat.read_text(encoding="utf-8") != beat, what="a fresh heartbeat")


async def test_a_reconnect_storm_opens_the_exchange_breaker_and_the_loop_goes_on(tmp_path: Path) -> None:
    async with Venue(venue_config(tmp_path)) as venue:
        settings = live_settings(venue, tmp_path)
        async with running_bot(settings) as bot:
            bot.loop.storm = ReconnectStorm(threshold=3, window_s=60, same_s=0.5)
            await play(venue, 4)
            venue.faults.add(FaultRule(kind=WireFault.WS_DROP, rate=1.0, streams="all"))
            for _ in range(40):
                if bot.journal("breaker.transition"):
                    break
                await play(venue, 1, pause_s=0.25)
            opened = [e.payload for e in bot.journal("breaker.transition") if e.payload["transition"] == "open"]
            assert opened and opened[0]["breaker"] == "exchange" and "stream_storm" in opened[0]["reason"]
            assert _alerts(bot, "breaker_opened"), "a human hears of it"
            assert bot.run.engine.safety.portfolio() is not None
            venue.faults.replace(FaultConfig())
            candles = bot.loop.stepped["candle_closed"]
            await play(venue, 8)
            await until(lambda: bot.loop.stepped["candle_closed"] >= candles + 2, timeout_s=30, what="candles after the storm")
            assert not bot.task.done(), "no crash"


async def test_an_ip_ban_on_market_data_opens_the_breaker_pauses_market_requests_and_the_loop_goes_on(
    tmp_path: Path,
) -> None:
    """A 418 answer to a market request (``GET time``, klines, derivatives) ended a soak run; now the loop opens the
    exchange breaker, stops asking for market data for a while, and steps every candle once after the ban."""
    async with Venue(venue_config(tmp_path)) as venue:
        settings = live_settings(venue, tmp_path)
        async with running_bot(settings, time_sync_wall_s=0.1) as bot:
            bot.loop.rest_pause = RestPause(pause_s=1.0)
            await play(venue, 4)
            first = bot.loop.feeds[0].next_open_ms - 4 * 75_000 * 4
            # A dropped market socket makes the feed fill its gap over REST; that klines request meets the ban. (The
            # test banned ``GET time`` before, which only the broker's clock sync sends: it met it through -1021
            # resends, gone since the broker signs on the wall clock.)
            venue.faults.add(FaultRule(kind=WireFault.BAN, times=1, retry_after_s=1, paths=("GET /api/v3/klines",)))
            venue.hub.drop("market")
            await play(venue, 2)
            await until(lambda: bool(bot.journal("breaker.transition")), what="the breaker opening")
            opened = [e.payload for e in bot.journal("breaker.transition") if e.payload["transition"] == "open"]
            assert opened and opened[0]["breaker"] == "exchange" and "market data refused" in opened[0]["reason"]
            assert _alerts(bot, "breaker_opened"), "a human hears of it"
            candles = bot.loop.stepped["candle_closed"]
            await play(venue, 12)
            await until(lambda: bot.loop.stepped["candle_closed"] >= candles + 3, what="candles after the ban")
            assert not bot.task.done(), "no crash"
            opens = bot.loop.feeds[0].history.index.as_unit("ms").asi8
            assert len(set(opens[opens >= first])) == len(opens[opens >= first]), "no candle twice"
            assert (opens[1:] - opens[:-1] == 300_000).all(), "none missing"


def _alerts(bot, kind: str) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    return [e.payload["alert"] for e in bot.journal("alert.raised") if e.payload["alert"]["kind"] == kind]
