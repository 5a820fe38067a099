"""``tradewake holdings list|propose|show|approve|reject|pause|resume|release|override``.

The commands that change something only *submit* to the store's operator queue, each with an
idempotency key (``--key``, default a fresh one); the running engine's holdings service applies them at
its next step, atomically. ``list`` and ``show`` read the store. A user mistake (an unknown proposal,
a confirmation that does not match, a coin that is never proposed or still cooling down after a
rejection, a bad number) is one line on stderr and exit 2.

What the run mode means for holdings (the variants offered, the cool-down) comes from
``engine.wiring.holdings_config``, the same function the engine's holdings service is configured with.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from core.json_output import print_json
from holdings.entry_source import EntrySource

if TYPE_CHECKING:  # the config pulls in the settings tree and the risk model, the commands' arguments and the
    # ports are pydantic models (built on import): a command's business, not --help's
    from pydantic import BaseModel

    from core.ports import Store
    from holdings import commands as cmd
    from holdings.config import HoldingsConfig

app = typer.Typer(
    help="Hand existing spot holdings to the bot, coin by coin, through proposals the operator approves.",
    no_args_is_help=True,
)


def _console() -> Console:
    """Made per command, so the width follows the terminal (and ``COLUMNS``) at the time it runs."""
    return Console()


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML settings file (default: $TRADEWAKE_CONFIG or ./tradewake.toml)."),
]
KeyOption = Annotated[
    str | None,
    typer.Option("--key", help="Idempotency key; re-sending the same key never applies the command twice."),
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (journaled with the decision).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output (full precision).")]
AssetArgument = Annotated[str, typer.Argument(help="The coin, e.g. BTC (traded against the configured quote).")]
ProposalArgument = Annotated[str, typer.Argument(help="A proposal id, e.g. BTC-1 (see: tradewake holdings list).")]
PriceOption = Annotated[str | None, typer.Option(help="A price in the quote currency.", show_default=False)]


def _mistake(message: str) -> NoReturn:
    """A user mistake: one line on stderr, exit 2, no traceback."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    raise typer.Exit(2)


ForceOption = Annotated[
    bool,
    typer.Option("--force", help="Queue even into a store no engine has written to yet (e.g. before the first start)."),
]


@dataclass(frozen=True)
class _Opened:
    holdings: HoldingsConfig
    store: Store
    where: str
    """Which store, for the output (the absolute SQLite path, or the redacted Redis URL)."""


@contextmanager
def _store(config: Path | None, *, submit: bool = False, force: bool = False) -> Iterator[_Opened]:
    """The run's holdings config (as the engine builds it) and its store.

    Like ``tradewake halt``: nothing here trades, so a mainnet configuration needs no confirmation; reading never
    creates a store; a command is queued only into a store an engine has written to (unless ``force``), so it
    cannot land where no engine will ever read it."""
    from core.settings import load_inert_settings
    from engine.wiring import holdings_config
    from safety.operator import engine_has_written
    from store.factory import describe_store, open_store, store_exists

    settings = load_inert_settings(config)
    where = describe_store(settings.store)
    create = submit and force
    if not create and not store_exists(settings.store):
        hint = " or pass --force to queue it anyway" if submit else ""
        _mistake(f"no store at {where}; no engine has run with these settings (check --config / store.url{hint})")
    store = open_store(settings.store, create=create)
    try:
        if submit and not force and not engine_has_written(store):
            _mistake(f"NOT queued: no engine has written to the store {where} "
                     "(check --config / store.url, or pass --force to queue it anyway)")
        yield _Opened(holdings_config(settings), store, where)
    finally:
        store.close()


def _args(model: type[BaseModel], **values: Any) -> BaseModel:
    from pydantic import ValidationError

    from holdings import commands as cmd

    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        _mistake(cmd.explain(exc))


def _submit(kind: cmd.HoldingsCommand, args: BaseModel, key: str | None, opened: _Opened, note: str = "") -> None:
    from core.clock import WallClock
    from core.ports import OperatorCommand
    from holdings import commands as cmd
    from safety.operator import check_key

    problem = check_key(key) if key is not None else None
    if problem is not None:
        _mistake(problem)

    verb = kind.value.removeprefix(cmd.KIND_PREFIX)
    command = OperatorCommand(
        idempotency_key=key or f"holdings-{verb}-{uuid.uuid4().hex[:16]}",
        kind=kind.value,
        args=cmd.encode(args),
        submitted_at=WallClock().now(),
        submitted_by=os.environ.get("USER", "operator"),
    )
    receipt = opened.store.submit_command(command)
    used = receipt.command.idempotency_key
    if receipt.outcome == "already_decided":
        _mistake(f"key {used} was already used for a different command; choose another --key")
    state = "queued" if receipt.outcome == "accepted" else "already queued"
    _console().print(
        f"{verb}: {state} as {used} in {opened.where} (status {receipt.status.value}); "
        f"the engine applies it at its next step{note}",
        markup=False,
        soft_wrap=True,
    )


def _asset(asset: str) -> str:
    return asset.strip().upper()


# ---------------------------------------------------------------- reading


@app.command("list")
def list_cmd(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Every asset the holdings service knows (any other coin is frozen) and the holdings commands queued."""
    from holdings import commands as cmd
    from holdings.book import HoldingsBook
    from holdings.render import holdings_table, policy_line

    with _store(config) as opened:
        holdings, store = opened.holdings, opened.store
        records = [loaded.record for loaded in HoldingsBook(store).all()]
        queued = [r.command for r in store.pending_commands() if cmd.is_holdings_kind(r.command.kind)]
    if as_json:
        rows = [r.model_dump(mode="json") for r in records]
        print_json(_console(), {"holdings": rows, "queued": [c.model_dump(mode="json") for c in queued]})
        return
    _console().print(policy_line(holdings), markup=False, highlight=False, soft_wrap=True)
    if not records:
        _console().print(
            "no managed holdings: every coin is frozen (propose one: tradewake holdings propose BTC)", soft_wrap=True
        )
    else:
        _console().print(holdings_table(records))
    for c in queued:
        _console().print(f"queued: {c.idempotency_key} {c.kind} {c.args}", markup=False, soft_wrap=True)


@app.command("show")
def show_cmd(proposal_id: ProposalArgument, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """A proposal: the market it was made from, its variants, warnings, confidence and whether it was decided."""
    from core.clock import WallClock
    from holdings.book import HoldingsBook
    from holdings.render import proposal_lines, variants_table, warning_lines

    with _store(config) as opened:
        book = HoldingsBook(opened.store)
        proposal, decision = book.proposal(proposal_id.upper()), book.decision(proposal_id.upper())
    if proposal is None:
        _mistake(f"no proposal {proposal_id} (see: tradewake holdings list)")
    if as_json:
        body = {
            "proposal": proposal.model_dump(mode="json"),
            "decision": decision.model_dump(mode="json") if decision is not None else None,
        }
        print_json(_console(), body)
        return
    for line in proposal_lines(proposal, decision, WallClock().now()):
        _console().print(line, markup=False, highlight=False, soft_wrap=True)
    _console().print(variants_table(proposal))
    for line in warning_lines(proposal):
        _console().print(line, markup=False, highlight=False, soft_wrap=True)
    if decision is None:
        _console().print(
            f"approve with: tradewake holdings approve {proposal.id} --confirm {proposal.asset}:<variant>",
            markup=False,
            soft_wrap=True,
        )


# ---------------------------------------------------------------- the proposal


@app.command("propose")
def propose_cmd(  # noqa: PLR0917 - typer maps each option to one parameter
    asset: AssetArgument,
    entry: Annotated[
        EntrySource, typer.Option(help="Synthetic entry: the current price, your cost basis, or your own price.")
    ] = EntrySource.CURRENT,
    entry_price: PriceOption = None,
    reason: ReasonOption = "",
    key: KeyOption = None,
    force: ForceOption = False,
    config: ConfigOption = None,
) -> None:
    """Ask the bot to analyse a holding and propose how to manage it (nothing is managed until approved)."""
    from holdings import commands as cmd

    args = _args(cmd.ProposeArgs, asset=_asset(asset), entry=entry, entry_price=entry_price, reason=reason)
    with _store(config, submit=True, force=force) as opened:
        _check_proposable(opened.holdings, opened.store, _asset(asset))
        _submit(cmd.HoldingsCommand.PROPOSE, args, key, opened)


def _check_proposable(holdings: HoldingsConfig, store: Store, asset: str) -> None:
    """The refusals the CLI can see at once (the service decides again when it applies the request)."""
    from core.clock import WallClock
    from holdings.book import HoldingsBook
    from holdings.lifecycle import HoldingState
    from holdings.render import when

    if holdings.blacklisted(asset):
        _mistake(f"{asset} is never proposed (the quote currency {holdings.quote}, or blacklisted)")
    record = HoldingsBook(store).load(asset).record
    until = record.cooldown_until
    resting = record.state in (HoldingState.FROZEN, HoldingState.EXIT_EXECUTED)
    if until is not None and resting and WallClock().now() < until:
        _mistake(f"{asset} was rejected recently: no new proposal before {when(until)}")


@app.command("approve")
def approve_cmd(
    proposal_id: ProposalArgument,
    confirm: Annotated[
        str, typer.Option("--confirm", help="ASSET:VARIANT you approve, e.g. BTC:recommended (typed, not guessed).")
    ],
    key: KeyOption = None,
    force: ForceOption = False,
    config: ConfigOption = None,
) -> None:
    """Hand the holding to the bot under one variant of a proposal."""
    from holdings import commands as cmd

    pid, confirm = proposal_id.upper(), confirm.strip()
    asset, _, variant = confirm.partition(":")
    args = _args(cmd.ApproveArgs, proposal_id=pid, confirm=f"{asset.upper()}:{variant.lower()}")
    assert isinstance(args, cmd.ApproveArgs)
    with _store(config, submit=True, force=force) as opened:
        _check_open(opened.store, args)
        _submit(cmd.HoldingsCommand.APPROVE, args, key, opened)


def _check_open(store: Store, args: cmd.ApproveArgs) -> None:
    """The mistakes the CLI can see at once (the service checks everything again when it applies it)."""
    from holdings.book import HoldingsBook

    book = HoldingsBook(store)
    proposal = book.proposal(args.proposal_id)
    if proposal is None:
        _mistake(f"no proposal {args.proposal_id} (see: tradewake holdings list)")
    if args.confirm_asset != proposal.asset:
        _mistake(f"--confirm names {args.confirm_asset} but proposal {proposal.id} is for {proposal.asset}")
    if proposal.variant(args.confirm_variant) is None:
        _mistake(f"proposal {proposal.id} offers {', '.join(proposal.variant_names)}, not {args.confirm_variant}")
    decision = book.decision(proposal.id)
    if decision is not None:
        _mistake(f"proposal {proposal.id} was already decided: {decision.describe()}")


@app.command("reject")
def reject_cmd(
    proposal_id: ProposalArgument, reason: ReasonOption = "", key: KeyOption = None, force: ForceOption = False,
    config: ConfigOption = None,
) -> None:
    """Say no to a proposal: the asset stays frozen (no new proposal for 24 h, 7 days on mainnet)."""
    from holdings import commands as cmd
    from holdings.render import duration

    args = _args(cmd.RejectArgs, proposal_id=proposal_id.upper(), reason=reason)
    with _store(config, submit=True, force=force) as opened:
        holdings = opened.holdings
        note = f"; then no new proposal for {duration(holdings.cooldown)} ({holdings.policy.label} cool-down)"
        _submit(cmd.HoldingsCommand.REJECT, args, key, opened, note)


# ---------------------------------------------------------------- a managed holding


@app.command("pause")
def pause_cmd(
    asset: AssetArgument, reason: ReasonOption = "", key: KeyOption = None, force: ForceOption = False,
    config: ConfigOption = None,
) -> None:
    """No new trades in this asset; its protective stop and take-profit stay active."""
    _submit_simple("pause", asset, reason=reason, key=key, config=config, force=force)


@app.command("resume")
def resume_cmd(
    asset: AssetArgument, reason: ReasonOption = "", key: KeyOption = None, force: ForceOption = False,
    config: ConfigOption = None,
) -> None:
    """Manage the holding again after a pause, or after a drift alert (accepting the holding as it is now)."""
    _submit_simple("resume", asset, reason=reason, key=key, config=config, force=force)


@app.command("release")
def release_cmd(
    asset: AssetArgument, reason: ReasonOption = "", key: KeyOption = None, force: ForceOption = False,
    config: ConfigOption = None,
) -> None:
    """Take the holding back: the bot winds down its orders and the asset returns to frozen."""
    _submit_simple("release", asset, reason=reason, key=key, config=config, force=force)


def _submit_simple(verb: str, asset: str, *, reason: str, key: str | None, config: Path | None, force: bool) -> None:
    """``pause``, ``resume`` or ``release``: an asset and a reason."""
    from holdings import commands as cmd

    kind = cmd.HoldingsCommand(f"{cmd.KIND_PREFIX}{verb}")
    args = _args(cmd.ARGS[kind], asset=_asset(asset), reason=reason)
    with _store(config, submit=True, force=force) as opened:
        _submit(kind, args, key, opened)


@app.command("override")
def override_cmd(  # noqa: PLR0917 - typer maps each option to one parameter
    asset: AssetArgument,
    stop: PriceOption = None,
    take_profit: PriceOption = None,
    max_allocation: Annotated[str | None, typer.Option(help="Quote amount; capped by the limits.")] = None,
    entry_price: PriceOption = None,
    reason: ReasonOption = "",
    key: KeyOption = None,
    force: ForceOption = False,
    config: ConfigOption = None,
) -> None:
    """Change a managed holding's stop, take-profit, maximum allocation or synthetic entry."""
    from holdings import commands as cmd

    args = _args(
        cmd.OverrideArgs,
        asset=_asset(asset),
        stop=stop,
        take_profit=take_profit,
        max_allocation=max_allocation,
        entry_price=entry_price,
        reason=reason,
    )
    with _store(config, submit=True, force=force) as opened:
        _submit(cmd.HoldingsCommand.OVERRIDE, args, key, opened)
