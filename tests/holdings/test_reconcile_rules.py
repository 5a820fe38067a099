"""Reconciliation never adopts an unmanaged holding as a bot position (the predicate it will call)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from core.ports import Store
from holdings.book import HoldingsBook
from holdings.commands import HoldingsCommand as K
from holdings.lifecycle import HoldingState
from holdings.reconcile_rules import PROTECTED, is_unmanaged, spot_verdict
from holdings.records import HoldingRecord
from holdings.service import HoldingsService
from tests.holdings.test_records import sample_terms
from tests.holdings.world import command, wallet


def test_on_a_real_store_only_the_approved_quantity_of_a_managed_holding_is_the_bots(
    service: HoldingsService, store: Store
) -> None:
    for key, kind, args in [
        ("p1", K.PROPOSE, {"asset": "BTC"}),
        ("p2", K.PROPOSE, {"asset": "ETH"}),
    ]:
        store.submit_command(command(kind, key, **args))
    w = wallet(ETH="2")
    service.cycle(w)
    holdings = HoldingsBook(store).records()
    # Proposed but not approved: still the operator's, all of it.
    proposed = spot_verdict("BTC", Decimal("0.5"), holdings["BTC"])
    assert (proposed.managed, proposed.operator) == (Decimal(0), Decimal("0.5"))
    assert proposed.reason == "BTC is not managed (risk_proposed): the operator's holding, never a bot position"
    store.submit_command(command(K.APPROVE, "a1", proposal_id="BTC-1", confirm="BTC:recommended"))
    service.cycle(w)
    holdings = HoldingsBook(store).records()
    terms = holdings["BTC"].terms
    assert terms is not None
    managed = spot_verdict("BTC", Decimal("0.5"), holdings["BTC"])
    assert (managed.managed, managed.operator) == (terms.managed_quantity, Decimal("0.5") - terms.managed_quantity)
    # A coin nobody ever proposed (an airdrop) has no record: frozen, the operator's.
    airdrop = spot_verdict("PEPE", Decimal("1000000"), holdings.get("PEPE"))
    assert (airdrop.managed, airdrop.operator) == (Decimal(0), Decimal("1000000"))
    assert airdrop.reason == "PEPE is not managed (frozen (no record)): the operator's holding, never a bot position"
    assert spot_verdict("BTC", Decimal(0), holdings["BTC"]).reason == "BTC: nothing unexplained"


@given(
    state=st.sampled_from(list(HoldingState)),
    with_terms=st.booleans(),
    managed_quantity=st.decimals(min_value="0", max_value="10", places=5),
    unexplained=st.decimals(min_value="-1", max_value="20", places=5),
)
def test_an_unmanaged_holding_is_never_attributed_to_the_bot(
    state: HoldingState, with_terms: bool, managed_quantity: Decimal, unexplained: Decimal
) -> None:
    terms = sample_terms(managed_quantity) if with_terms else None
    holding = HoldingRecord(asset="BTC", state=state, terms=terms)
    verdict = spot_verdict("BTC", unexplained, holding)
    if unexplained <= 0:
        assert verdict.managed == verdict.operator == 0
        return
    assert verdict.managed + verdict.operator == unexplained
    if state not in PROTECTED or terms is None:
        assert is_unmanaged(holding) and verdict.managed == 0
    else:
        assert verdict.managed == min(unexplained, managed_quantity)
    assert is_unmanaged(None)
