"""The live view's managed holdings: every asset with a holdings record, its open proposal, and the operator's
actions on it (what ``tradewake holdings`` does, from the page).

- :func:`read_holdings` reads the records and the open proposals through holdings' own book (SQLite or Redis);
- :class:`HoldingRow` is what the page shows; its actions are the ones the lifecycle table allows the operator in
  the asset's state now (derived from ``holdings.lifecycle.decide``, never listed by hand);
- :func:`plan_holdings_command` turns the page's request into the ``OperatorCommand`` the CLI would queue (pure),
  validated by the same argument models the holdings service applies.

Each form's idempotency key names the asset's state (its last change): a double click, or a retry, in one state
is one command; after the state changes the same button is a new command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.ports import OperatorCommand, Store
from holdings import commands as cmd
from holdings.book import HoldingsBook
from holdings.lifecycle import Action, Actor, HoldingState, Refusal, decide
from holdings.proposal import Proposal
from holdings.records import HoldingRecord

PREFIX = "holdings-"
"""Page actions for holdings are ``holdings-<verb>`` (``holdings-approve``)."""

VERBS: dict[str, cmd.HoldingsCommand] = {kind.value.removeprefix(cmd.KIND_PREFIX): kind for kind in cmd.HoldingsCommand}
OFFERED = (Action.APPROVE, Action.REJECT, Action.PAUSE, Action.RESUME, Action.RELEASE)
"""The actions the page offers on a row (propose is a form of its own; override stays on the CLI)."""


@dataclass(frozen=True)
class HoldingRow:
    record: HoldingRecord
    proposal: Proposal | None
    """The open proposal (``risk_proposed``), with its variants and warnings."""
    actions: tuple[str, ...]
    """The operator's actions the lifecycle allows now, as page verbs (``approve`` ... ``release``)."""

    @property
    def key(self) -> str:
        """The idempotency key stem of this state: the asset and when it last changed."""
        stamp = int(self.record.updated_at.timestamp() * 1000) if self.record.updated_at else 0
        return f"{self.record.asset}-{stamp}"

    @property
    def row_actions(self) -> tuple[str, ...]:
        """Actions taken on the asset itself (approve and reject act on the proposal, shown with it)."""
        return tuple(a for a in self.actions if a not in ("approve", "reject"))


def allowed(state: HoldingState) -> tuple[str, ...]:
    """The operator's offered actions that change something in ``state``."""
    verbs = []
    for action in OFFERED:
        verdict = decide(state, action, Actor.OPERATOR)
        if not isinstance(verdict, Refusal) and not verdict.noop:
            verbs.append(action.value)
    return tuple(verbs)


def holding_rows(records: list[HoldingRecord], proposals: dict[str, Proposal]) -> list[HoldingRow]:
    """One row per asset (by name), the open proposal attached (pure)."""
    rows = []
    for record in sorted(records, key=lambda r: r.asset):
        open_proposal = None
        if record.state is HoldingState.RISK_PROPOSED and record.proposal_id is not None:
            open_proposal = proposals.get(record.proposal_id)
        rows.append(HoldingRow(record, open_proposal, allowed(record.state)))
    return rows


def read_holdings(store: Store) -> list[HoldingRow]:
    book = HoldingsBook(store)
    records = [loaded.record for loaded in book.all()]
    proposals = {}
    for record in records:
        if record.state is HoldingState.RISK_PROPOSED and record.proposal_id is not None:
            proposal = book.proposal(record.proposal_id)
            if proposal is not None:
                proposals[proposal.id] = proposal
    return holding_rows(records, proposals)


@dataclass(frozen=True, slots=True)
class HoldingsRefused:
    message: str


def plan_holdings_command(
    verb: str, body: dict[str, Any], key: str, now: datetime, submitted_by: str
) -> OperatorCommand | HoldingsRefused:
    """The page's ``holdings-<verb>`` request as the queued command (``key`` already checked by the caller)."""
    kind = VERBS.get(verb)
    if kind is None:
        return HoldingsRefused(f"unknown holdings action {verb!r}; the page offers {', '.join(VERBS)}")
    model = cmd.ARGS[kind]
    args = {name: _clean(body[name]) for name in model.model_fields if body.get(name) not in (None, "")}
    if "asset" in args:
        args["asset"] = str(args["asset"]).upper()
    try:
        _, parsed = cmd.parse(kind.value, args)
    except cmd.BadCommand as exc:
        return HoldingsRefused(str(exc))
    return OperatorCommand(idempotency_key=f"dash-{PREFIX}{verb}-{key}", kind=kind.value, args=cmd.encode(parsed),
                           submitted_at=now, submitted_by=submitted_by)  # fmt: skip


def _clean(value: Any) -> Any:
    """Text from a form: one line, trimmed (numbers and choices pass as they are)."""
    return " ".join(value.split()) if isinstance(value, str) else value
