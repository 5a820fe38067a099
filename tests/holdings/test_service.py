"""The holdings service on real stores, real candles and the real command queue: the lifecycle end to end
(up to what needs the engine and the guard), refusals with their reasons, exactly-once commands."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.clock import SimClock
from core.ids import PositionId
from core.ports import CommandStatus, JournalEvent, Store
from core.settings import RunMode
from core.types import Position, PositionSide
from holdings.commands import HoldingsCommand as K
from holdings.config import HoldingsConfig
from holdings.lifecycle import Action, Actor, HoldingState
from holdings.records import DecisionOutcome
from holdings.service import HoldingsService
from holdings.sources import SnapshotMarketSource, Wallet
from tests.holdings.world import AT, ETH, command, config, wallet

S = HoldingState
W = wallet()


def submit(store: Store, kind: K | str, key: str, **args: Any) -> None:
    assert store.submit_command(command(kind, key, **args)).outcome == "accepted"


def managed_events(store: Store) -> list[JournalEvent]:
    return [e for e in store.read_journal() if e.kind.startswith("managed.")]


def kinds(store: Store) -> list[str]:
    return [e.kind for e in managed_events(store)]


def finished(store: Store, key: str) -> tuple[CommandStatus, dict[str, Any]]:
    receipt = store.submit_command(command("holdings.propose", key))  # same key: the queue answers what it holds
    assert receipt.outcome in ("duplicate", "already_decided")
    assert receipt.result is not None
    return receipt.status, receipt.result


def proposed(service: HoldingsService, store: Store, asset: str = "BTC", key: str = "p1", w: Wallet = W) -> str:
    submit(store, K.PROPOSE, key, asset=asset)
    service.cycle(w)
    record = service.holding(asset)
    assert record.state is S.RISK_PROPOSED, record
    assert record.proposal_id is not None
    return record.proposal_id


def approved(service: HoldingsService, store: Store, variant: str = "recommended", w: Wallet = W) -> str:
    pid = proposed(service, store, w=w)
    submit(store, K.APPROVE, "a1", proposal_id=pid, confirm=f"BTC:{variant}")
    service.cycle(w)
    assert service.holding("BTC").state is S.MANAGED_ACTIVE
    return pid


# ---------------------------------------------------------------- the happy path, on both backends


def test_propose_approve_pause_resume_override_release_on_both_backends(
    any_store: Store, clock: SimClock, source: SnapshotMarketSource, config: HoldingsConfig
) -> None:
    service = HoldingsService(any_store, clock, source, config)
    store = any_store
    submit(store, K.PROPOSE, "p1", asset="BTC")
    report = service.cycle(W)
    assert [p.status for p in report.commands] == [CommandStatus.APPLIED]
    assert finished(store, "p1") == (CommandStatus.APPLIED, {"asset": "BTC", "state": "proposal_pending"})
    record = service.holding("BTC")
    assert (record.state, record.proposal_id, record.proposal_count) == (S.RISK_PROPOSED, "BTC-1", 1)
    proposal = service.book.proposal("BTC-1")
    assert proposal is not None and proposal.requested_by == "alice" and proposal.request_key == "p1"
    assert kinds(store) == ["managed.requested", "managed.generated", "managed.allocation_capped"]

    submit(store, K.APPROVE, "a1", proposal_id="BTC-1", confirm="BTC:recommended")
    service.cycle(W)
    record = service.holding("BTC")
    assert record.state is S.MANAGED_ACTIVE and record.terms is not None
    chosen = proposal.variant("recommended")
    assert chosen is not None
    assert (record.terms.stop, record.terms.take_profit, record.terms.managed_quantity) == (
        chosen.stop,
        chosen.take_profit,
        chosen.managed_quantity,
    )
    assert (record.terms.wallet_quantity, record.terms.approved_by) == (Decimal("0.5"), "alice")
    decision = service.book.decision("BTC-1")
    assert decision is not None and (decision.outcome, decision.actor) == (DecisionOutcome.APPROVED, Actor.OPERATOR)

    submit(store, K.PAUSE, "x1", asset="BTC", reason="news")
    service.cycle(W)
    assert service.holding("BTC").state is S.MANAGED_PAUSED
    submit(store, K.RESUME, "x2", asset="BTC")
    service.cycle(W)
    assert service.holding("BTC").state is S.MANAGED_ACTIVE
    submit(store, K.OVERRIDE, "x3", asset="BTC", stop="17500", take_profit="22000.005")
    service.cycle(W)
    terms = service.holding("BTC").terms
    assert terms is not None and (terms.stop, terms.take_profit) == (Decimal("17500.00"), Decimal("22000.01"))
    submit(store, K.RELEASE, "x4", asset="BTC")
    service.cycle(W)
    assert service.holding("BTC").state is S.RELEASE_PENDING
    service.record_released("BTC")  # the guard, once its orders are gone (a later phase wires it)
    released = service.holding("BTC")
    assert (released.state, released.terms) == (S.FROZEN, None)
    assert kinds(store)[3:] == [
        "managed.promoted",
        "managed.synthetic_entry_set",
        "managed.paused",
        "managed.resumed",
        "managed.operator_override",
        "managed.release_requested",
        "managed.released",
    ]
    assert store.pending_commands() == []
    assert store.verify_journal().ok


def test_every_event_names_its_actor_and_the_transition(service: HoldingsService, store: Store) -> None:
    approved(service, store)
    for event in managed_events(store):
        assert event.payload["asset"] == "BTC"
        assert event.payload["actor"] in {a.value for a in Actor}
    promoted = next(e for e in managed_events(store) if e.kind == "managed.promoted")
    assert (promoted.payload["from"], promoted.payload["to"], promoted.payload["actor"]) == (
        "risk_proposed",
        "managed_active",
        "operator",
    )
    assert promoted.payload["risk_model_version"] == "holdings-risk/1"
    generated = next(e for e in managed_events(store) if e.kind == "managed.generated")
    assert (generated.payload["actor"], generated.payload["proposal_id"]) == ("bot", "BTC-1")


# ---------------------------------------------------------------- decided once


def test_a_second_approval_is_refused_as_already_decided(service: HoldingsService, store: Store) -> None:
    pid = approved(service, store)
    submit(store, K.APPROVE, "a2", proposal_id=pid, confirm="BTC:conservative")
    report = service.cycle(W)
    assert [p.code for p in report.commands] == ["already_decided"]
    status, result = finished(store, "a2")
    assert status is CommandStatus.REJECTED
    assert result["error"].startswith("proposal BTC-1 was already decided: approved by the operator at 2022-10-20")
    assert kinds(store)[-1] == "managed.command_refused"
    terms = service.holding("BTC").terms
    assert terms is not None and terms.variant.value == "recommended"  # the first approval stands


def test_the_same_command_applied_twice_acts_once(service: HoldingsService, store: Store) -> None:
    pid = proposed(service, store)
    approve = command(K.APPROVE, "a1", proposal_id=pid, confirm="BTC:recommended")
    store.submit_command(approve)
    first = service.apply(approve, W)
    before = store.read_journal()
    again = service.apply(approve, W)  # a crash before the queue was told, or a second runner
    assert (again.status, again.result) == (first.status, first.result)
    assert again.events == ()
    assert store.read_journal() == before
    assert finished(store, "a1")[0] is CommandStatus.APPLIED


def test_a_second_request_while_pending_is_idempotent(service: HoldingsService, store: Store) -> None:
    submit(store, K.PROPOSE, "p1", asset="BTC")
    submit(store, K.PROPOSE, "p2", asset="BTC")
    first, second = service.apply_pending(W)
    assert (first.status, second.status) == (CommandStatus.APPLIED, CommandStatus.APPLIED)
    assert second.result == {"asset": "BTC", "state": "proposal_pending", "already": True}
    service.generate_pending(W)
    assert service.holding("BTC").proposal_count == 1  # one proposal, not two
    submit(store, K.PROPOSE, "p3", asset="BTC")  # now a proposal is open: approve or reject it first
    (third,) = service.apply_pending(W)
    assert third.code == "not_in_state"


def test_approval_must_name_the_asset_and_an_offered_variant(service: HoldingsService, store: Store) -> None:
    pid = proposed(service, store)
    for key, confirm, why in [
        ("a1", "ETH:recommended", "--confirm names ETH but proposal BTC-1 is for BTC"),
        ("a2", "BTC:yolo", "proposal BTC-1 has no variant 'yolo'; it offers conservative, recommended, aggressive"),
    ]:
        submit(store, K.APPROVE, key, proposal_id=pid, confirm=confirm)
        (plan,) = service.apply_pending(W)
        assert (plan.code, plan.result["error"]) == ("confirm_mismatch", why)
    submit(store, K.APPROVE, "a3", proposal_id="BTC-9", confirm="BTC:recommended")
    assert [p.code for p in service.apply_pending(W)] == ["unknown_proposal"]
    assert service.holding("BTC").state is S.RISK_PROPOSED


def test_mainnet_offers_no_aggressive_variant_to_approve(
    store: Store, clock: SimClock, source: SnapshotMarketSource
) -> None:
    service = HoldingsService(store, clock, source, config(RunMode.MAINNET))
    pid = proposed(service, store)
    submit(store, K.APPROVE, "a1", proposal_id=pid, confirm="BTC:aggressive")
    (plan,) = service.apply_pending(W)
    assert plan.code == "confirm_mismatch"
    capped = next(e for e in managed_events(store) if e.kind == "managed.allocation_capped")
    assert {v["limit"] for v in capped.payload["variants"]} == {
        "mainnet_max_position_pct 10 % of equity x 0.5 (conservative)",
        "mainnet_max_position_pct 10 % of equity x 0.75 (recommended)",
    }


# ---------------------------------------------------------------- reject, cool-down, TTL


def test_a_rejection_freezes_the_asset_and_starts_the_testnet_cooldown(
    service: HoldingsService, store: Store, clock: SimClock
) -> None:
    pid = proposed(service, store)
    submit(store, K.REJECT, "r1", proposal_id=pid, reason="not now")
    service.cycle(W)
    record = service.holding("BTC")
    assert (record.state, record.cooldown_until) == (S.FROZEN, AT + timedelta(hours=24))
    rejected = next(e for e in managed_events(store) if e.kind == "managed.rejected")
    assert rejected.payload["path"] == ["proposal_rejected", "frozen"]
    clock.advance_to(AT + timedelta(hours=23, minutes=59))
    submit(store, K.PROPOSE, "p2", asset="BTC")
    (plan,) = service.apply_pending(W)
    assert plan.code == "cooldown"
    assert plan.result["error"] == "BTC was rejected recently: no new proposal before 2022-10-21T12:00:00+00:00"
    clock.advance_to(AT + timedelta(hours=24))
    submit(store, K.PROPOSE, "p3", asset="BTC")
    service.cycle(W)
    assert (service.holding("BTC").state, service.holding("BTC").proposal_id) == (S.RISK_PROPOSED, "BTC-2")


def test_the_mainnet_cooldown_is_seven_days(store: Store, clock: SimClock, source: SnapshotMarketSource) -> None:
    service = HoldingsService(store, clock, source, config(RunMode.MAINNET))
    pid = proposed(service, store)
    submit(store, K.REJECT, "r1", proposal_id=pid)
    service.cycle(W)
    assert service.holding("BTC").cooldown_until == AT + timedelta(days=7)


def test_the_ttl_job_expires_an_unanswered_proposal_and_a_late_approval_is_refused(
    service: HoldingsService, store: Store, clock: SimClock
) -> None:
    pid = proposed(service, store)
    clock.advance_to(AT + timedelta(days=7))
    submit(store, K.APPROVE, "late", proposal_id=pid, confirm="BTC:recommended")
    report = service.cycle(W)  # commands first: the approval arrives after the deadline, then the TTL job runs
    assert [p.code for p in report.commands] == ["expired"]
    assert [p.status for p in report.expired] == [CommandStatus.APPLIED]
    record = service.holding("BTC")
    assert (record.state, record.cooldown_until) == (S.FROZEN, None)  # nobody said no: no cool-down
    decision = service.book.decision(pid)
    assert decision is not None and (decision.outcome, decision.actor) == (DecisionOutcome.EXPIRED, Actor.TTL_JOB)
    expired = [e for e in managed_events(store) if e.kind == "managed.expired"]
    assert expired[0].payload["actor"] == "ttl_job"
    submit(store, K.APPROVE, "later", proposal_id=pid, confirm="BTC:recommended")
    (plan,) = service.apply_pending(W)
    assert plan.result["error"].startswith("proposal BTC-1 was already decided: expired by the ttl_job")


# ---------------------------------------------------------------- aborts


@pytest.mark.parametrize(
    ("asset", "w", "code"),
    [
        ("ETH", wallet(), "no_balance"),  # no ETH in the wallet
        ("USDT", wallet(), "blacklisted"),  # the quote currency
        ("DOGE", wallet(DOGE="1000"), "market_down"),  # no DOGE/USDT market in the source
    ],
)
def test_a_request_that_cannot_be_proposed_is_aborted_back_to_frozen(
    service: HoldingsService, store: Store, asset: str, w: Wallet, code: str
) -> None:
    submit(store, K.PROPOSE, "p1", asset=asset)
    report = service.cycle(w)
    assert [p.result["code"] for p in report.generated] == [code]
    assert service.holding(asset).state is S.FROZEN
    aborted = managed_events(store)[-1]
    assert (aborted.kind, aborted.payload["actor"], aborted.payload["code"]) == ("managed.aborted", "bot", code)
    assert aborted.payload["path"] == ["proposal_aborted", "frozen"]


def test_stale_market_data_aborts(service: HoldingsService, store: Store, clock: SimClock) -> None:
    clock.advance_to(AT + timedelta(days=10))  # after the last candle of the fixture
    submit(store, K.PROPOSE, "p1", asset="BTC")
    (plan,) = service.cycle(W).generated
    assert plan.result["code"] == "market_down"
    assert "market data is" in plan.result["reason"]


def test_a_configured_blacklist_is_honoured(store: Store, clock: SimClock, source: SnapshotMarketSource) -> None:
    service = HoldingsService(store, clock, source, config(blacklist=frozenset({"BTC"})))
    submit(store, K.PROPOSE, "p1", asset="BTC")
    assert [p.result["code"] for p in service.cycle(W).generated] == ["blacklisted"]


# ---------------------------------------------------------------- drift


def test_a_sale_outside_the_bot_puts_a_managed_holding_on_drift_alert_and_alerts(
    service: HoldingsService, store: Store
) -> None:
    approved(service, store)
    sold = wallet(btc="0.3")
    report = service.cycle(sold)
    assert service.holding("BTC").state is S.MANAGED_DRIFT_ALERT
    (alert,) = report.alerts
    assert (alert.kind, alert.severity) == ("managed_drift", "warning")
    assert "wallet holds 0.3, expected 0.5" in alert.message
    drift = managed_events(store)[-1]
    assert (drift.kind, drift.payload["actor"], drift.payload["drift"]) == (
        "managed.drift_detected",
        "bot",
        ["quantity"],
    )
    assert service.cycle(sold).drift == []  # already on alert: no second alert every cycle
    # Resuming accepts the holding as it is now: the drift check is re-anchored and stays quiet.
    submit(store, K.RESUME, "x1", asset="BTC", reason="I sold some")
    assert service.cycle(sold).drift == []
    terms = service.holding("BTC").terms
    assert service.holding("BTC").state is S.MANAGED_ACTIVE and terms is not None
    assert terms.wallet_quantity == Decimal("0.3") and terms.managed_quantity <= Decimal("0.3")
    resumed = [e for e in managed_events(store) if e.kind == "managed.resumed"][-1]
    assert resumed.payload["rebased"]["wallet_quantity"] == "0.3"


def test_drift_makes_an_open_proposal_stale_and_a_later_approval_hears_why(
    service: HoldingsService, store: Store
) -> None:
    pid = proposed(service, store)
    service.check_drift(wallet(btc="0.2"))
    assert service.holding("BTC").state is S.FROZEN
    decision = service.book.decision(pid)
    assert decision is not None and (decision.outcome, decision.actor) == (DecisionOutcome.ABORTED, Actor.BOT)
    submit(store, K.APPROVE, "a1", proposal_id=pid, confirm="BTC:recommended")
    (plan,) = service.apply_pending(W)
    assert plan.result["error"].startswith("proposal BTC-1 was already decided: aborted by the bot")
    assert "drift: wallet holds 0.2, expected 0.5" in plan.result["error"]


def test_an_approval_is_refused_when_the_wallet_changed_since_the_proposal(
    service: HoldingsService, store: Store
) -> None:
    pid = proposed(service, store)
    submit(store, K.APPROVE, "a1", proposal_id=pid, confirm="BTC:recommended")
    (plan,) = service.apply_pending(wallet(btc="0.45"))
    assert plan.code == "holding_changed"
    assert service.holding("BTC").state is S.RISK_PROPOSED


def test_a_regime_change_after_approval_is_drift(store: Store, source: SnapshotMarketSource) -> None:
    from datetime import UTC, datetime

    calm = datetime(2022, 8, 30, 12, tzinfo=UTC)
    clock = SimClock(calm)
    service = HoldingsService(store, clock, source, config())
    submit(store, K.PROPOSE, "p1", asset="BTC")
    service.cycle(W)
    submit(store, K.APPROVE, "a1", proposal_id="BTC-1", confirm="BTC:recommended")
    service.cycle(W)
    clock.advance_to(datetime(2022, 9, 9, 12, tzinfo=UTC))  # the September 2022 sell-off: high_vol
    (plan,) = service.cycle(W).drift
    assert plan.result["drift"] == ["regime"]
    assert service.holding("BTC").state is S.MANAGED_DRIFT_ALERT


# ---------------------------------------------------------------- the bot, the guard


def test_the_bot_can_never_release_a_managed_holding(service: HoldingsService, store: Store) -> None:
    approved(service, store)
    for action in (Action.RELEASE, Action.RELEASE_DONE, Action.EXPIRE, Action.REJECT, Action.EXIT):
        plan = service.attempt("BTC", action, Actor.BOT, reason="the agent wants out")
        assert plan.refused and plan.code == "actor_not_allowed"
        assert [a.kind for a in plan.alerts] == ["managed_policy_blocked"]
    assert service.holding("BTC").state is S.MANAGED_ACTIVE
    blocked = [e for e in managed_events(store) if e.kind == "managed.policy_change_blocked"]
    assert len(blocked) == 5 and {e.payload["actor"] for e in blocked} == {"bot"}
    assert blocked[0].payload["reason"] == "the bot may not release: only operator"


def test_a_stop_fill_is_an_exit_and_only_the_operator_returns_the_asset(service: HoldingsService, store: Store) -> None:
    approved(service, store)
    service.record_exit("BTC", "stop_loss", Decimal("17900.96"))
    assert service.holding("BTC").state is S.EXIT_EXECUTED
    assert service.attempt("BTC", Action.RELEASE, Actor.BOT).code == "actor_not_allowed"
    refused_guard = service.record_exit("BTC", "stop_loss")  # a second report of the same exit
    assert refused_guard.code == "not_in_state"
    assert managed_events(store)[-1].kind == "managed.command_refused"  # the guard is not the bot
    submit(store, K.RELEASE, "x1", asset="BTC")
    service.cycle(W)
    assert service.holding("BTC").state is S.FROZEN
    submit(store, K.PROPOSE, "p2", asset="BTC")  # or a new proposal, also only by the operator
    service.cycle(W)
    assert service.holding("BTC").proposal_id == "BTC-2"


def test_an_exit_from_exit_executed_can_also_start_a_new_proposal(service: HoldingsService, store: Store) -> None:
    approved(service, store)
    service.record_exit("BTC", "take_profit")
    submit(store, K.PROPOSE, "p2", asset="BTC")
    service.cycle(W)
    assert (service.holding("BTC").state, service.holding("BTC").proposal_id) == (S.RISK_PROPOSED, "BTC-2")


# ---------------------------------------------------------------- overrides


def test_an_override_is_checked_against_the_price(service: HoldingsService, store: Store) -> None:
    approved(service, store)
    for key, args, why in [
        ("o1", {"stop": "19500"}, "the stop 19500 must be below the price 19208.09"),
        ("o2", {"take_profit": "19000"}, "the take-profit 19000 must be above the price 19208.09"),
        ("o3", {"entry_price": "17000"}, "the synthetic entry 17000 must be above the stop 17900.96"),
    ]:
        submit(store, K.OVERRIDE, key, asset="BTC", **args)
        (plan,) = service.apply_pending(W)
        assert (plan.code, plan.result["error"]) == ("invalid_override", why)


def test_an_override_above_the_cap_is_capped_and_an_entry_change_is_journaled(
    service: HoldingsService, store: Store
) -> None:
    approved(service, store)
    submit(store, K.OVERRIDE, "o1", asset="BTC", max_allocation="999999", entry_price="19100")
    (plan,) = service.apply_pending(W)
    terms = service.holding("BTC").terms
    assert terms is not None
    assert terms.max_allocation == Decimal("4000.00")  # 20 % of 20,000
    assert terms.synthetic_entry == Decimal("19100.00")
    assert plan.result["changes"]["max_allocation"] == ["3000.00", "4000.00"]
    assert kinds(store)[-3:] == [
        "managed.operator_override",
        "managed.synthetic_entry_adjusted",
        "managed.allocation_capped",
    ]
    capped = managed_events(store)[-1].payload
    assert (capped["requested"], capped["capped_to"], capped["limit"]) == ("999999", "4000.00", "max_position_pct 20 %")


def test_on_mainnet_an_override_keeps_the_entry_5_percent_above_the_stop(
    store: Store, clock: SimClock, source: SnapshotMarketSource
) -> None:
    service = HoldingsService(store, clock, source, config(RunMode.MAINNET))
    approved(service, store)
    submit(store, K.OVERRIDE, "o1", asset="BTC", stop="18500")  # entry 19208.09: only 3.7 % above
    (plan,) = service.apply_pending(W)
    assert plan.result["error"] == "the synthetic entry 19208.09 must be at least 5.0 % above the stop 18500"


# ---------------------------------------------------------------- the queue


def test_malformed_commands_are_refused_once_and_other_kinds_are_left_alone(
    service: HoldingsService, store: Store
) -> None:
    submit(store, "holdings.frobnicate", "b1", asset="BTC")
    submit(store, K.APPROVE, "b2", proposal_id="BTC-1")  # no --confirm
    submit(store, "halt", "h1", reason="not ours")
    plans = service.apply_pending(W)
    assert [p.code for p in plans] == ["bad_command", "bad_command"]
    assert plans[1].result["error"] == "holdings.approve: confirm: Field required"
    assert [r.command.idempotency_key for r in store.pending_commands()] == ["h1"]
    assert kinds(store) == ["managed.command_refused", "managed.command_refused"]
    assert service.apply(command("holdings.frobnicate", "b1", asset="BTC"), W).code == "bad_command"
    assert len(kinds(store)) == 2  # recorded once


def test_the_audit_trail_covers_every_event_the_issue_names(
    service: HoldingsService, store: Store, clock: SimClock
) -> None:
    approved(service, store)  # requested, generated, allocation_capped, promoted, synthetic_entry_set
    submit(store, K.OVERRIDE, "o1", asset="BTC", entry_price="19100")  # operator_override, synthetic_entry_adjusted
    submit(store, K.PAUSE, "o2", asset="BTC")
    submit(store, K.RESUME, "o3", asset="BTC")
    service.cycle(W)
    service.cycle(wallet(btc="0.3"))  # drift_detected
    service.attempt("BTC", Action.RELEASE, Actor.BOT)  # policy_change_blocked
    submit(store, K.RELEASE, "o4", asset="BTC")
    service.cycle(wallet(btc="0.3"))  # release_requested
    service.record_exit("BTC", "stop_loss")  # exit_executed
    submit(store, K.RELEASE, "o5", asset="BTC")  # released
    submit(store, K.PROPOSE, "p2", asset="ETH")  # aborted (no ETH)
    service.cycle(wallet(btc="0.3"))
    submit(store, K.PROPOSE, "p3", asset="BTC")
    service.cycle(wallet(btc="0.3"))
    submit(store, K.REJECT, "r1", proposal_id="BTC-2")  # rejected
    service.cycle(wallet(btc="0.3"))
    clock.advance_to(AT + timedelta(days=2))
    submit(store, K.PROPOSE, "p4", asset="BTC")
    service.cycle(wallet(btc="0.3"))
    clock.advance_to(AT + timedelta(days=9))
    service.expire_due()  # expired
    issue_20 = {
        "requested", "generated", "aborted", "expired", "rejected", "promoted", "paused", "resumed",
        "release_requested", "released", "synthetic_entry_set", "synthetic_entry_adjusted", "drift_detected",
        "operator_override", "exit_executed", "policy_change_blocked", "allocation_capped",
    }  # fmt: skip
    seen = {k.removeprefix("managed.") for k in kinds(store)}
    assert issue_20 <= seen
    assert seen - issue_20 <= {"command_refused"}
    assert all("actor" in e.payload for e in managed_events(store))


# ---------------------------------------------------------------- what the engine tells it about the account


def test_open_positions_and_blockers_from_the_engine_shape_the_proposal(service: HoldingsService, store: Store) -> None:
    eth = Position(
        id=PositionId("p-eth"),
        symbol=ETH,
        side=PositionSide.LONG,
        quantity=Decimal("5"),
        entry_price=Decimal("1300"),
        opened_at=AT - timedelta(days=1),
        stop_price=Decimal("1250"),
        initial_stop_price=Decimal("1250"),
    )
    account = Wallet(W.balances, W.equity, positions=(eth,), blockers=("trading is halted by the operator (CPI)",))
    submit(store, K.PROPOSE, "p1", asset="BTC")
    service.cycle(account)
    proposal = service.book.proposal("BTC-1")
    assert proposal is not None
    by_code = {w.code: w.message for w in proposal.warnings}
    assert by_code["correlation"] == "moves with open positions: ETH/USDT (rho 0.89); losses would add up"
    assert by_code["breaker"] == "trading is halted by the operator (CPI)"
    # 50 % of 20,000 may be committed in total; the ETH position already holds 6,500 of it.
    assert {v.name.value: str(v.max_allocation) for v in proposal.variants} == {
        "conservative": "2000.00",
        "recommended": "3000.00",
        "aggressive": "3500.00",
    }
    assert proposal.variant("aggressive").cap_reason == "max_total_exposure_pct 50 % (already committed 6500)"  # type: ignore[union-attr]


def test_holdings_reads_nothing_of_safety_but_its_public_surface() -> None:
    """The engine hands the account over (``Wallet``); safety's book, board and records stay safety's."""
    import ast
    from pathlib import Path

    public = {"safety.service", "safety.proposals", "safety.verdicts", "safety.views", "safety.alerts"}
    root = Path(__file__).resolve().parents[2] / "holdings"
    wrong = [
        f"{path.name}: {node.module}"
        for path in sorted(root.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("safety") and node.module not in public
    ]
    assert wrong == []
