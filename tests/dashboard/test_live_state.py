"""The live view's reader gives the same state from SQLite and from Redis: the store a real engine wrote,
copied event by event and document by document into a namespace of a real ``redis-server`` through the
``Store`` port (the journal's hashes are recomputed by the Redis store itself)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from core.ports import NewEvent, OperatorCommand, Store, Write
from core.settings import Settings, StoreSettings
from dashboard.live import LiveState, read_live_state
from store.factory import open_store
from tests.dashboard.conftest import Live
from tests.redis_server import RedisServer


def copy_store(source: Store, target: Store) -> None:
    for event in source.read_journal():
        target.append(NewEvent(kind=event.kind, at=event.at, payload=event.payload))
    docs = source.get_many(source.keys())
    target.transact([Write(key=doc.key, value=doc.value) for doc in docs.values()])
    for receipt in source.pending_commands():
        target.submit_command(receipt.command)


def summary(state: LiveState) -> dict[str, object]:
    return {
        "halted": state.halted,
        "positions": [(p.position.id, p.position.stop_price, p.last_price, p.unrealized_pnl) for p in state.positions],
        "next_check_at": state.next_check_at,
        "budget": state.budget.status if state.budget else None,
        "decisions": [(d.seq, d.action) for d in state.decisions],
        "commands": [c["idempotency_key"] for c in state.pending_commands],
        "equity": state.equity_estimate,
    }


def test_sqlite_and_redis_stores_read_the_same(live_store: Live, redis_server: RedisServer) -> None:
    live_store.world.store.submit_command(OperatorCommand(
        idempotency_key="k-halt-1", kind="halt", args={"reason": "test"}, submitted_at=live_store.clock.now()))
    settings: Settings = live_store.settings()
    now = live_store.clock.now()
    from_sqlite = read_live_state(live_store.world.store, settings, now)
    redis_store = open_store(StoreSettings(url=redis_server.url, namespace=f"dash{uuid.uuid4().hex[:8]}"))
    try:
        copy_store(live_store.world.store, redis_store)
        from_redis = read_live_state(redis_store, settings, now)
    finally:
        redis_store.close()
    assert summary(from_sqlite) == summary(from_redis)
    assert from_sqlite.positions and from_sqlite.positions[0].last_price is not None
    assert from_sqlite.next_check_at is not None and from_sqlite.budget is not None
    assert from_sqlite.pending_commands and from_sqlite.decisions


def test_the_unrealized_pnl_is_net_of_the_entry_fee_at_the_gates_last_price(live_store: Live) -> None:
    state = read_live_state(live_store.world.store, live_store.settings(), live_store.clock.now())
    (live,) = state.positions
    p = live.position
    assert live.last_price == Decimal(str(live_store.world.candles[44].close))
    assert live.unrealized_pnl == (live.last_price - p.entry_price) * p.quantity - p.entry_fee
    assert state.equity_estimate == state.board.trading.day_start_equity + state.board.trading.realized_pnl + (
        live.unrealized_pnl)  # type: ignore[union-attr]
