"""The holdings documents in the ``Store``: read them, and commit a plan atomically.

One :meth:`HoldingsBook.commit` is one ``Store.transact``: the asset's record with compare-and-set on
the version it was read at, the proposal, the decision and the command outcome each with
``expected_version=0`` (written once, ever), and the plan's journal events. Either all of it lands
or none of it does (``ConflictError``: someone else decided first; read again and re-plan).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.ports import NewEvent, Store, Write
from holdings.plan import Plan
from holdings.proposal import Proposal
from holdings.records import (
    ASSET_PREFIX,
    AppliedCommand,
    Decision,
    HoldingRecord,
    asset_key,
    command_key,
    decision_key,
    proposal_key,
)


@dataclass(frozen=True, slots=True)
class Loaded:
    record: HoldingRecord
    version: int
    """The stored version (0: no record yet, the asset is frozen by default)."""


class HoldingsBook:
    def __init__(self, store: Store) -> None:
        self.store = store

    def load(self, asset: str) -> Loaded:
        doc = self.store.get(asset_key(asset))
        if doc is None:
            return Loaded(HoldingRecord.fresh(asset), 0)
        return Loaded(HoldingRecord.model_validate(doc.value), doc.version)

    def all(self) -> list[Loaded]:
        """Every asset with a record, by asset name (assets without one are frozen and have nothing to do)."""
        docs = self.store.get_many(self.store.keys(ASSET_PREFIX))
        return [Loaded(HoldingRecord.model_validate(doc.value), doc.version) for doc in docs.values()]

    def records(self) -> dict[str, HoldingRecord]:
        """Every holdings record by asset, for reconciliation's :func:`holdings.reconcile_rules.spot_verdict`."""
        return {loaded.record.asset: loaded.record for loaded in self.all()}

    def proposal(self, proposal_id: str) -> Proposal | None:
        doc = self.store.get(proposal_key(proposal_id))
        return Proposal.model_validate(doc.value) if doc is not None else None

    def decision(self, proposal_id: str) -> Decision | None:
        doc = self.store.get(decision_key(proposal_id))
        return Decision.model_validate(doc.value) if doc is not None else None

    def applied(self, idempotency_key: str) -> AppliedCommand | None:
        doc = self.store.get(command_key(idempotency_key))
        return AppliedCommand.model_validate(doc.value) if doc is not None else None

    def commit(self, plan: Plan, at: datetime, *, version: int = 0, applied: AppliedCommand | None = None) -> None:
        """Write ``plan``; ``version`` is the record's version it was planned from (0: no record yet).

        Raises ``ConflictError`` when anything it writes changed since it was read.
        """
        writes = []
        if plan.record is not None:
            writes.append(
                Write(
                    key=asset_key(plan.record.asset),
                    value=plan.record.model_dump(mode="json"),
                    expected_version=version,
                )
            )
        if plan.proposal is not None:
            writes.append(_once(proposal_key(plan.proposal.id), plan.proposal.model_dump(mode="json")))
        if plan.decision is not None:
            writes.append(_once(decision_key(plan.decision.proposal_id), plan.decision.model_dump(mode="json")))
        if applied is not None:
            writes.append(_once(command_key(applied.idempotency_key), applied.model_dump(mode="json")))
        events = [NewEvent(kind=kind, at=at, payload=payload) for kind, payload in plan.events]
        self.store.transact(writes, events)


def _once(key: str, value: dict[str, object]) -> Write:
    return Write(key=key, value=value, expected_version=0)
