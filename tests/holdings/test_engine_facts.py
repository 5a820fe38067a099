"""What holdings does with what the engine hands it: the holding is the wallet less the bot's own positions (the
bot's fills never look like drift, the managed holding's guarded position is the holding's), a holding that became
a guarded position is committed once, reconciliation's split knows what is attached, and a cycle over records the
engine already read reads nothing more."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from core.ids import PositionId, Symbol
from core.ports import Doc, Store
from core.types import Position, PositionSide
from holdings.book import Loaded
from holdings.commands import HoldingsCommand as K
from holdings.generation import committed_exposure
from holdings.lifecycle import HoldingState
from holdings.reconcile_rules import spot_verdict
from holdings.records import HoldingRecord, managed_position_id
from holdings.service import HoldingsService
from holdings.sources import Wallet
from tests.holdings.test_records import sample_terms
from tests.holdings.world import AT, BTC, command, wallet

W = wallet()


def position(pid: str, quantity: str, symbol: Symbol = BTC, entry: str = "19000") -> Position:
    return Position(
        id=PositionId(pid), symbol=symbol, side=PositionSide.LONG, quantity=Decimal(quantity),
        entry_price=Decimal(entry), opened_at=AT - timedelta(hours=1), stop_price=Decimal("18000"),
        initial_stop_price=Decimal("18000"),
    )  # fmt: skip


def with_positions(*positions: Position, btc: str = "0.5") -> Wallet:
    base = wallet(btc=btc)
    return Wallet(base.balances, base.equity, positions=positions)


def test_the_holding_is_the_wallet_less_the_bots_own_positions_but_not_less_the_managed_one() -> None:
    managed = position("m-held", "0.15")
    account = with_positions(position("p-own", "0.1"), managed, position("p-eth", "2", Symbol("ETH/USDT")), btc="0.6")
    assert account.quantity("BTC") == Decimal("0.6")
    assert account.held("BTC", managed.id) == Decimal("0.5"), "the bot's own 0.1 BTC is not the operator's holding"
    assert account.held("BTC") == Decimal("0.35"), "unmanaged: every bot position is the bot's own"


def test_a_proposal_hands_over_only_the_operators_coins(service: HoldingsService, store: Store) -> None:
    store.submit_command(command(K.PROPOSE, "p1", asset="BTC"))
    service.cycle(with_positions(position("p-own", "0.2"), btc="0.7"))
    proposal = service.book.proposal("BTC-1")
    assert proposal is not None and proposal.holding_quantity == Decimal("0.5")


def test_the_bots_own_fills_are_not_drift_an_outside_sale_is(service: HoldingsService, store: Store) -> None:
    store.submit_command(command(K.PROPOSE, "p1", asset="BTC"))
    service.cycle(W)
    store.submit_command(command(K.APPROVE, "a1", proposal_id="BTC-1", confirm="BTC:recommended"))
    service.cycle(W)
    terms = service.holding("BTC").terms
    assert terms is not None
    guarded = position(terms.position_id, str(terms.managed_quantity))
    bought = with_positions(guarded, position("p-own", "0.3"), btc="0.8")  # the agent bought 0.3 BTC of its own
    assert service.check_drift(bought) == []
    assert service.holding("BTC").state is HoldingState.MANAGED_ACTIVE
    sold = with_positions(guarded, btc="0.4")  # 0.1 BTC sold outside the bot
    (plan,) = service.check_drift(sold)
    assert plan.record is not None and plan.record.state is HoldingState.MANAGED_DRIFT_ALERT
    assert "sold or withdrawn outside the bot" in str(plan.record.reason)


def test_a_guarded_holding_is_committed_exposure_once() -> None:
    terms = sample_terms(Decimal("0.1"))
    other = HoldingRecord(asset="ETH", state=HoldingState.MANAGED_ACTIVE, terms=terms)
    others = [Loaded(other, 3)]
    not_guarded = committed_exposure((), others, "BTC")
    assert not_guarded == terms.managed_quantity * terms.synthetic_entry
    as_position = position(terms.position_id, str(terms.managed_quantity), entry=str(terms.synthetic_entry))
    assert committed_exposure((as_position,), others, "BTC") == not_guarded, "counted as the position, once"


def test_reconciliation_attributes_to_a_managed_holding_only_what_its_position_does_not_hold() -> None:
    terms = sample_terms(Decimal("0.15"))
    holding = HoldingRecord(asset="BTC", state=HoldingState.MANAGED_ACTIVE, terms=terms)
    pending = spot_verdict("BTC", Decimal("0.5"), holding)
    assert (pending.managed, pending.operator) == (Decimal("0.15"), Decimal("0.35")), "not guarded yet"
    guarded = spot_verdict("BTC", Decimal("0.35"), holding, attached=Decimal("0.15"))
    assert (guarded.managed, guarded.operator) == (Decimal(0), Decimal("0.35")), "the position explains its part"


def test_a_managed_position_id_is_one_per_proposal() -> None:
    assert managed_position_id("BTC-1") == managed_position_id("BTC-1") != managed_position_id("BTC-2")
    assert managed_position_id("BTC-1").startswith("m") and len(managed_position_id("BTC-1")) == 11
    assert sample_terms(Decimal(1)).position_id == managed_position_id(sample_terms(Decimal(1)).proposal_id)


class CountingStore:
    """The real store, counting the reads the holdings service makes (``get``, ``get_many``, ``keys``, the queue)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.reads = 0

    def get(self, key: str) -> Doc | None:
        self.reads += 1
        return self.inner.get(key)

    def get_many(self, keys: Sequence[str]) -> dict[str, Doc]:
        self.reads += 1
        return self.inner.get_many(keys)

    def keys(self, prefix: str = "") -> list[str]:
        self.reads += 1
        return self.inner.keys(prefix)

    def pending_commands(self) -> Any:
        self.reads += 1
        return self.inner.pending_commands()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_cycle_over_the_records_the_engine_read_reads_nothing_while_nothing_happens(
    service: HoldingsService, store: Store
) -> None:
    store.submit_command(command(K.PROPOSE, "p1", asset="BTC"))
    service.cycle(W)
    store.submit_command(command(K.APPROVE, "a1", proposal_id="BTC-1", confirm="BTC:recommended"))
    service.cycle(W)
    counting = CountingStore(store)
    quiet = HoldingsService(counting, service.clock, service.market, service.config)  # type: ignore[arg-type]
    records = quiet.book.all()
    counting.reads = 0
    terms = service.holding("BTC").terms
    assert terms is not None
    report = quiet.cycle(with_positions(position(terms.position_id, str(terms.managed_quantity))), commands=False,
                         records=records)  # fmt: skip
    assert (report.commands, report.generated, report.expired, report.drift) == ([], [], [], [])
    assert counting.reads == 0
