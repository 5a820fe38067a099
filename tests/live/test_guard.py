"""The guard's own cadence in the live loop: a stop that fills while the agent's decision is still in flight is
finalized within one guard interval (the guard takes the engine's lock between the decision's desk calls), with
the user-data stream and without it; with a position open the guard looks at every new price, and passes (reads
the exchange) when that price may make safety act."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.live.harness import (
    BTC,
    EntryAgent,
    entry_agent,
    live_settings,
    play,
    play_heard,
    running_bot,
    until,
    venue_config,
)
from venue import Venue

DROP_AT = 1960
"""The replay starts at candle 1960 of the bundled BTC/USDT 5m series: the agent enters at the open of 1961, and
1961-1962 trade more than 0.6 % below that open, through the 0.5 % stop."""
GUARD_INTERVAL_S = 2.0


def stop_fills(venue: Venue) -> list[dict[str, object]]:
    return [r for r in venue.ledger.records if r["kind"] == "fill" and r["side"] == "SELL"]


@pytest.mark.parametrize("user_stream", [True, False], ids=["user-data stream", "REST only"])
async def test_a_stop_filled_mid_decision_is_finalized_within_one_guard_interval(tmp_path: Path,
                                                                                 user_stream: bool) -> None:
    async with Venue(venue_config(tmp_path, start_index=DROP_AT)) as venue:
        settings = live_settings(venue, tmp_path, every_candle=True)
        holder: dict[str, EntryAgent] = {}
        agent = entry_agent(holder, lambda: Decimal(str(venue.market.replay.last_price(BTC))), hold_s=5.0)
        async with running_bot(settings, agent=agent, safety_interval_s=GUARD_INTERVAL_S,
                               user_stream=user_stream) as bot:
            await play(venue, 4)
            await until(lambda: "agent" in holder and holder["agent"].holding.is_set(), what="the entry decision")
            assert any(e.payload["order"]["type"] == "stop_market" for e in bot.journal("guard.order_placed"))
            for _ in range(12):
                if stop_fills(venue):
                    break
                await play(venue, 1, pause_s=0.2)
            fills = stop_fills(venue)
            assert fills, "the replay went through the stop"
            waited = await until(lambda: bool(bot.journal("position.closed")), timeout_s=GUARD_INTERVAL_S + 1,
                                 what="the stop's finalization")
            closed_wall = time.time()
            assert holder["agent"].holding.is_set(), "the decision was still in flight when the stop was finalized"
            assert not holder["agent"].done, "no decision record yet"
            latency_s = closed_wall - int(fills[0]["wall_ms"]) / 1000  # type: ignore[call-overload]
            assert latency_s <= GUARD_INTERVAL_S, f"finalized {latency_s:.2f} s after the fill (waited {waited:.2f})"
            trade = bot.journal("position.closed")[0].payload["trade"]
            assert trade["exit_reason"] == "stop_loss"
            print(f"stop finalized {latency_s:.3f} s after its fill, mid-decision ({'stream' if user_stream else 'REST'})")


async def test_with_a_position_open_the_guard_runs_on_every_new_price(tmp_path: Path) -> None:
    async with Venue(venue_config(tmp_path, start_index=DROP_AT + 40)) as venue:
        settings = live_settings(venue, tmp_path, every_candle=True)
        holder: dict[str, EntryAgent] = {}
        agent = entry_agent(holder, lambda: Decimal(str(venue.market.replay.last_price(BTC))), stop_pct=Decimal(5))
        # No timer and no price tick through the whole engine within the test: passes are the guardian's alone.
        async with running_bot(settings, agent=agent, safety_interval_s=3_600, tick_interval_s=3_600) as bot:
            # The first guard is the guardian's or the first step's, whichever runs first (a loaded machine decides).
            await until(lambda: bot.run.engine.guarded_at is not None, what="the first guard")
            flat = bot.loop.stepped["guard_pass"]
            holder_ready = lambda: "agent" in holder and holder["agent"].entered  # noqa: E731
            for _ in range(3):  # the forming candle: three trades, each heard, no position yet
                assert await play_heard(venue, bot)
            assert bot.loop.stepped["guard_pass"] == flat, "flat: no pass before the hour is up"
            await play(venue, 1)  # the candle closes: the agent enters
            await until(holder_ready, what="the entry")
            await until(lambda: bool(bot.run.engine.safety.portfolio().positions), what="the position")
            await until(lambda: bot.loop.stepped["guard_quiet"] + bot.loop.stepped["guard_pass"] > 0, what="a look")
            looks = lambda: bot.loop.stepped["guard_pass"] + bot.loop.stepped["guard_quiet"]  # noqa: E731
            before, quiet, requests = looks(), bot.loop.stepped["guard_quiet"], venue.http.requests
            traded = 0
            for _ in range(8):  # two candles: six trades; each is looked at before the next is played
                seen = looks()
                if await play_heard(venue, bot):
                    traded += 1
                    await until(lambda: looks() > seen, what=f"a look at trade {traded} ({bot.loop.stepped})")  # noqa: B023
            assert traded == 6, "two candles of the replay: three trades each"
            assert looks() - before >= 6, "the guard looks at every new price while the position is open"
            # A 5 % stop: these prices are inside the position's quiet band (safety.quiet), so most looks are passes
            # that would change nothing and are not made (no request); REST stays the fallback every interval.
            assert bot.loop.stepped["guard_quiet"] - quiet >= 4, bot.loop.stepped
            assert venue.http.requests - requests < 6 * 3, "quiet looks send no request"
