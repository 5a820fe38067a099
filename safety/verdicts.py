"""The veto's answers: ``Approved`` (possibly capped) or ``Vetoed`` with a stable code.

The codes are a public contract: the agent reads them as tool results, the journal stores them
and dashboards count them. Add codes; never rename or reuse one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from core.ids import PositionId
from core.types import Veto
from safety.proposals import Proposal


class VetoCode(StrEnum):
    # operator controls
    HALTED = "halted"
    SLEEPING = "sleeping"
    # account state and breakers (entries only; exits are always allowed)
    STATE_NOT_SAVED = "state_not_saved"
    NOT_RECONCILED = "not_reconciled"
    EXCHANGE_BREAKER_OPEN = "exchange_breaker_open"
    IP_BANNED = "ip_banned"
    """Binance banned the IP (418): nothing is sent until the ban ends."""
    TRADING_BREAKER_OPEN = "trading_breaker_open"
    DAILY_ORDER_CAP = "daily_order_cap"
    NOT_LEASED = "not_leased"
    """Several runners: this runner does not hold the symbol's lease (or has not reconciled and protected it yet)."""
    # market data
    UNKNOWN_SYMBOL = "unknown_symbol"
    STALE_DATA = "stale_data"
    # entry shape
    WRONG_MARKET_SIDE = "wrong_market_side"
    """A short on a spot market: only futures can sell to open."""
    NO_EQUITY = "no_equity"
    POSITION_EXISTS = "position_exists"
    OPPOSITE_POSITION = "opposite_position"
    COOLDOWN = "cooldown"
    FAT_FINGER = "fat_finger"
    STOP_WRONG_SIDE = "stop_wrong_side"
    STOP_TOO_CLOSE = "stop_too_close"
    STOP_TOO_FAR = "stop_too_far"
    TAKE_PROFIT_WRONG_SIDE = "take_profit_wrong_side"
    # caps
    LEVERAGE_CAP = "leverage_cap"
    STOP_BEYOND_LIQUIDATION = "stop_beyond_liquidation"
    """Futures: the stop sits at or beyond where the account would liquidate the position (with a margin)."""
    POSITION_SIZE_CAP = "position_size_cap"
    EXPOSURE_CAP = "exposure_cap"
    MAINNET_LIMIT = "mainnet_limit"
    # exchange precision and minimums
    BELOW_MIN_QUANTITY = "below_min_quantity"
    ABOVE_MAX_QUANTITY = "above_max_quantity"
    BELOW_MIN_NOTIONAL = "below_min_notional"
    INVALID_ORDER = "invalid_order"
    # changes to an existing position
    NO_POSITION = "no_position"
    NO_PENDING_ENTRY = "no_pending_entry"
    STOP_LOOSENING = "stop_loosening"
    # managed holdings (the operator's coins the bot guards under approved terms)
    MANAGED_HOLDING = "managed_holding"
    MANAGED_PAUSED = "managed_paused"


@dataclass(frozen=True, slots=True)
class Vetoed:
    code: VetoCode
    message: str

    def as_veto(self) -> Veto:
        """The core ``Veto`` value that goes into the tool-call record."""
        return Veto(code=self.code.value, message=self.message)


@dataclass(frozen=True, slots=True)
class Approved:
    """An allowed proposal. For an entry ``proposal.size_pct`` is the size in force (after a cap),
    ``quantity`` the quantized order quantity and ``capped_from`` the size asked for when capped."""

    proposal: Proposal
    message: str = "approved"
    position_id: PositionId | None = None
    """The new position's id (entries) or the addressed position (close / adjust / cancel)."""
    quantity: Decimal | None = None
    reference_price: Decimal | None = None
    stop_price: Decimal | None = None
    """Quantized stop (entries and stop adjustments)."""
    take_profit_price: Decimal | None = None
    capped_from: float | None = None


Verdict = Approved | Vetoed
