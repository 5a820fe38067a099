from datetime import UTC, datetime, timedelta

import pytest

from core.canonical import GENESIS_HASH, canonical_json, chain_hash
from core.clock import SimClock, WallClock
from core.ids import client_order_id, has_prefix
from core.timeframes import datetime_to_ms, floor_time, ms_to_datetime, timeframe_seconds

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_sim_clock_moves_forward_only() -> None:
    clock = SimClock(T0)
    clock.advance_to(T0 + timedelta(minutes=5))
    clock.advance_to(T0 + timedelta(minutes=5))  # equal is fine
    assert clock.now() == T0 + timedelta(minutes=5)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance_to(T0)
    clock.advance_by(60)
    assert clock.now() == T0 + timedelta(minutes=6)
    with pytest.raises(ValueError):
        clock.advance_by(-1)


def test_clocks_refuse_naive_times() -> None:
    with pytest.raises(ValueError, match="naive"):
        SimClock(datetime(2024, 1, 1))


def test_wall_clock_is_aware() -> None:
    assert WallClock().now().tzinfo is not None


def test_client_order_id_shape_and_prefix() -> None:
    cid = client_order_id("tw", "run1", 42)
    assert cid == "tw-run1-42"
    assert has_prefix(cid, "tw") and not has_prefix(cid, "t")
    with pytest.raises(ValueError):
        client_order_id("bad prefix", 1)
    with pytest.raises(ValueError):
        client_order_id("tw", "x" * 40)


def test_timeframes() -> None:
    assert timeframe_seconds("5m") == 300
    assert timeframe_seconds("4h") == 14400
    assert timeframe_seconds("1w") == 604800
    for bad in ("", "m", "5x", "0m", "1M"):
        with pytest.raises(ValueError):
            timeframe_seconds(bad)
    at = datetime(2024, 1, 1, 5, 37, tzinfo=UTC)
    assert floor_time(at, "1h") == datetime(2024, 1, 1, 5, tzinfo=UTC)
    assert floor_time(at, "4h") == datetime(2024, 1, 1, 4, tzinfo=UTC)
    assert ms_to_datetime(datetime_to_ms(at)) == at


def test_canonical_json_is_stable_and_exact() -> None:
    from decimal import Decimal

    assert canonical_json({"b": 1, "a": Decimal("0.10"), "t": T0}) == '{"a":"0.10","b":1,"t":"2024-01-01T00:00:00+00:00"}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    h1 = chain_hash(GENESIS_HASH, {"seq": 1})
    assert h1 != chain_hash(GENESIS_HASH, {"seq": 2}) and len(h1) == 64
