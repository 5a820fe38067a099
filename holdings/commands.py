"""The operator's holdings commands as they travel through the store's command queue.

Kinds are ``holdings.<verb>``; the arguments are validated by one pydantic model per kind, both when
the CLI submits (a user mistake is one line and exit 2) and when the service applies (a malformed
command is refused with its reason, never half-applied). Numbers travel as strings (``Decimal``).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from holdings.entry_source import EntrySource
from holdings.records import ASSET_RE, PROPOSAL_ID_RE

KIND_PREFIX = "holdings."

_ARGS = ConfigDict(frozen=True, extra="forbid")


class HoldingsCommand(StrEnum):
    PROPOSE = "holdings.propose"
    APPROVE = "holdings.approve"
    REJECT = "holdings.reject"
    PAUSE = "holdings.pause"
    RESUME = "holdings.resume"
    RELEASE = "holdings.release"
    OVERRIDE = "holdings.override"


def is_holdings_kind(kind: str) -> bool:
    """Whether a queued command belongs to the holdings service (the router's question)."""
    return kind.startswith(KIND_PREFIX)


class _AssetArgs(BaseModel):
    model_config = _ARGS

    asset: str = Field(pattern=ASSET_RE.pattern)
    reason: str = Field(default="", max_length=500)


class ProposeArgs(_AssetArgs):
    entry: EntrySource = EntrySource.CURRENT
    entry_price: Decimal | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _price_goes_with_the_source(self) -> ProposeArgs:
        if self.entry is EntrySource.CURRENT and self.entry_price is not None:
            raise ValueError("an entry price is given only with --entry cost_basis or --entry operator")
        if self.entry is not EntrySource.CURRENT and self.entry_price is None:
            raise ValueError(f"--entry {self.entry.value} needs --entry-price")
        return self


class ApproveArgs(BaseModel):
    model_config = _ARGS

    proposal_id: str = Field(pattern=PROPOSAL_ID_RE.pattern)
    confirm: str = Field(pattern=r"^[A-Z0-9]{1,20}:[a-z]{1,20}$")
    """``ASSET:VARIANT``, typed by the operator: the approval names what it approves."""

    @property
    def confirm_asset(self) -> str:
        return self.confirm.split(":", 1)[0]

    @property
    def confirm_variant(self) -> str:
        return self.confirm.split(":", 1)[1]


class RejectArgs(BaseModel):
    model_config = _ARGS

    proposal_id: str = Field(pattern=PROPOSAL_ID_RE.pattern)
    reason: str = Field(default="", max_length=500)


class PauseArgs(_AssetArgs):
    pass


class ResumeArgs(_AssetArgs):
    pass


class ReleaseArgs(_AssetArgs):
    pass


class OverrideArgs(_AssetArgs):
    stop: Decimal | None = Field(default=None, gt=0)
    take_profit: Decimal | None = Field(default=None, gt=0)
    max_allocation: Decimal | None = Field(default=None, gt=0)
    entry_price: Decimal | None = Field(default=None, gt=0)
    """A new synthetic entry (journaled ``managed.synthetic_entry_adjusted``)."""

    @model_validator(mode="after")
    def _something_to_change(self) -> OverrideArgs:
        if all(v is None for v in (self.stop, self.take_profit, self.max_allocation, self.entry_price)):
            raise ValueError("override needs at least one of --stop, --take-profit, --max-allocation, --entry-price")
        return self

    @field_validator("stop", "take_profit", "max_allocation", "entry_price")
    @classmethod
    def _finite(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and not value.is_finite():
            raise ValueError("must be a finite number")
        return value


ARGS: dict[HoldingsCommand, type[BaseModel]] = {
    HoldingsCommand.PROPOSE: ProposeArgs,
    HoldingsCommand.APPROVE: ApproveArgs,
    HoldingsCommand.REJECT: RejectArgs,
    HoldingsCommand.PAUSE: PauseArgs,
    HoldingsCommand.RESUME: ResumeArgs,
    HoldingsCommand.RELEASE: ReleaseArgs,
    HoldingsCommand.OVERRIDE: OverrideArgs,
}


class BadCommand(ValueError):
    """A queued command that cannot be read: refused with this message."""


def parse(kind: str, args: dict[str, Any]) -> tuple[HoldingsCommand, BaseModel]:
    try:
        command = HoldingsCommand(kind)
    except ValueError:
        known = ", ".join(k.value for k in HoldingsCommand)
        raise BadCommand(f"unknown holdings command {kind!r}; expected one of {known}") from None
    try:
        return command, ARGS[command].model_validate(args)
    except ValidationError as exc:
        raise BadCommand(f"{kind}: {explain(exc)}") from None


def encode(args: BaseModel) -> dict[str, Any]:
    """Arguments as the queue stores them (JSON; Decimals as strings, unset fields left out)."""
    return args.model_dump(mode="json", exclude_none=True)


def explain(exc: ValidationError) -> str:
    """A validation error as one line a person can act on."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
