"""Issue 21 item 1, the pure half: which leases a round renews, acquires or leaves; a takeover's stages."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.ids import Symbol
from core.leases import Lease, check_runner_id
from safety.leases import Held, TakeoverStage, is_stale, next_stage, plan_round

BTC, ETH, SOL = Symbol("BTC/USDT"), Symbol("ETH/USDT"), Symbol("SOL/USDT")


def _lease(symbol: Symbol, owner: str, ttl_ms: int, at_ms: int = 1000) -> Lease:
    return Lease(symbol, owner, 3, ttl_ms, at_ms)


def test_a_lease_is_stale_once_its_expiry_has_passed_or_it_is_gone() -> None:
    assert is_stale(None, 0)
    assert not is_stale(_lease(BTC, "a", 500), 1499)
    assert is_stale(_lease(BTC, "a", 500), 1500)


def test_a_round_renews_what_it_holds_acquires_the_free_and_waits_for_the_live_ones() -> None:
    plan = plan_round(
        (BTC, ETH, SOL, BTC),
        {BTC: Held(4)},
        {BTC: _lease(BTC, "someone", 100), ETH: None, SOL: _lease(SOL, "b", 2000)},
        1050,
    )
    assert plan.renew == (BTC,), "a held lease is renewed: the renewal itself is the owner check"
    assert plan.acquire == (ETH,)
    assert plan.waiting == (SOL,)


@given(
    wanted=st.lists(st.sampled_from([BTC, ETH, SOL]), max_size=6),
    held=st.sets(st.sampled_from([BTC, ETH, SOL])),
    ttls=st.dictionaries(st.sampled_from([BTC, ETH, SOL]), st.integers(-10, 3000)),
    now_ms=st.integers(0, 5000),
)
def test_every_wanted_symbol_lands_in_exactly_one_place_and_nothing_unwanted_is_touched(
    wanted: list[Symbol], held: set[Symbol], ttls: dict[Symbol, int], now_ms: int
) -> None:
    observed = {s: _lease(s, "other", ttl) for s, ttl in ttls.items()}
    plan = plan_round(wanted, {s: Held(1) for s in held}, observed, now_ms)
    placed = [*plan.renew, *plan.acquire, *plan.waiting]
    assert sorted(placed) == sorted(set(wanted))
    for symbol in plan.acquire:
        assert symbol not in held and is_stale(observed.get(symbol), now_ms), "never acquire over a live lease"


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 2)), max_size=12))
def test_a_taken_over_symbol_trades_only_after_reconciling_and_then_protecting(steps: list[tuple[bool, int]]) -> None:
    stage, reconciled_at, protected_after_reconcile = TakeoverStage.RECONCILING, None, False
    for i, (reconciled, unprotected) in enumerate(steps):
        before = stage
        stage = next_stage(stage, reconciled=reconciled, unprotected=unprotected)
        if before is TakeoverStage.RECONCILING and stage is not before:
            reconciled_at = i
        if before is TakeoverStage.PROTECTING and stage is TakeoverStage.TRADING:
            assert unprotected == 0 and reconciled_at is not None and reconciled_at < i
            protected_after_reconcile = True
    if stage is TakeoverStage.TRADING:
        assert protected_after_reconcile, "never straight from reconciling to trading"


def test_runner_ids_are_refused_when_they_could_break_the_lease_value() -> None:
    assert check_runner_id("r-1.a_b") == "r-1.a_b"
    for bad in ("", "a|b", "a b", "x" * 33):
        try:
            check_runner_id(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} accepted")
