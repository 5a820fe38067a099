"""Paper mode keeps its simulated account across a restart: balances, the open position and its resting stop come
back from the store, so reconciliation re-attaches them instead of finalizing the position as closed externally."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.paper import ACCOUNT_KEY
from tests.live.harness import BTC, EntryAgent, entry_agent, live_settings, play, running_bot, until, venue_config
from venue import Venue


def saved_account(bot) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    saved = bot.run.store.get(ACCOUNT_KEY)
    assert saved is not None, "the paper account is in the store"
    return saved.value  # type: ignore[no-any-return]


def open_orders(account: dict[str, Any]) -> list[str]:
    return [o["intent"]["client_order_id"] for o in account["orders"] if o["status"] == "open"]


async def test_a_paper_position_and_its_stop_survive_a_restart(tmp_path: Path) -> None:
    async with Venue(venue_config(tmp_path)) as venue:
        price = lambda: Decimal(str(venue.market.replay.last_price(BTC)))  # noqa: E731
        holder: dict[str, EntryAgent] = {}
        settings = live_settings(venue, tmp_path, mode="paper", every_candle=True)
        async with running_bot(settings, agent=entry_agent(holder, price, stop_pct=Decimal(3))) as bot:
            await play(venue, 4)
            await until(lambda: any(p.stop_order_id for p in bot.run.engine.safety.positions()), what="a protected "
                        "paper position")
            (before,) = bot.run.engine.safety.positions()
            await until(lambda: before.stop_order_id in open_orders(saved_account(bot)), what="the saved stop")
            balances_before = saved_account(bot)["account"]["total"]
        assert not [r for r in venue.ledger.records if r["kind"] == "order"], "paper orders never reach the venue"

        restarted = live_settings(venue, tmp_path, mode="paper")
        async with running_bot(restarted, agent=entry_agent({}, price)) as bot:
            await play(venue, 2)
            await until(lambda: bot.loop.stepped["guard_pass"] >= 1, what="a safety pass after the restart")
            (after,) = bot.run.engine.safety.positions()
            assert (after.id, after.quantity, after.stop_order_id) == (before.id, before.quantity, before.stop_order_id)
            assert not bot.journal("position.closed"), "not finalized as closed externally"
            assert before.stop_order_id in open_orders(saved_account(bot)), "the same stop still rests"
            assert saved_account(bot)["account"]["total"] == balances_before, "the paper balances came back"
            held = Decimal(balances_before["BTC"])  # what the buy delivered, net of its fee in BTC
        assert before.quantity <= held < before.quantity + Decimal("0.00001"), "the position: that, to the lot step"
