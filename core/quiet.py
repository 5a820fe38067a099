"""Where a candle cannot make a part of the system act: the contract between the parts and a backtest that skips.

A backtest may step the engine only on candles where something can happen (``engine/skipping.py``). Each part
that acts on prices says, after a step, which prices of one symbol would make it act on the next candle of that
symbol, as a ``QuietBand``; a part that acts on time says when (a deadline). A band may be conservative (it may
claim a candle that turns out quiet: stepping it is what the per-candle path does anyway); it must never call a
candle quiet that would make the part act.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


def _lowest(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return b if a is None else a if b is None else min(a, b)


def _highest(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass(frozen=True, slots=True)
class QuietBand:
    """The prices at which a candle of one symbol makes a part act (every bound inclusive).

    A candle acts when its low is at or below ``range_low``, its high at or above ``range_high``, its close at
    or below ``close_low`` or at or above ``close_high``; ``None`` is no bound. ``every_candle``: the part acts
    (or cannot tell) on the next event whatever its prices; every candle of every symbol is stepped until the
    band changes.
    """

    range_low: Decimal | None = None
    range_high: Decimal | None = None
    close_low: Decimal | None = None
    close_high: Decimal | None = None
    every_candle: bool = False

    def merge(self, other: QuietBand) -> QuietBand:
        """Act where either acts."""
        return QuietBand(
            range_low=_highest(self.range_low, other.range_low),
            range_high=_lowest(self.range_high, other.range_high),
            close_low=_highest(self.close_low, other.close_low),
            close_high=_lowest(self.close_high, other.close_high),
            every_candle=self.every_candle or other.every_candle,
        )

    def acts_at(self, price: Decimal) -> bool:
        """Whether a trade at ``price`` (a candle of that one price) makes the part act."""
        if self.every_candle:
            return True
        lows = (b for b in (self.range_low, self.close_low) if b is not None)
        highs = (b for b in (self.range_high, self.close_high) if b is not None)
        return any(price <= bound for bound in lows) or any(price >= bound for bound in highs)

    @property
    def unbounded(self) -> bool:
        """No price makes the part act (and it does not act on every candle either)."""
        return not self.every_candle and all(
            bound is None for bound in (self.range_low, self.range_high, self.close_low, self.close_high)
        )


QUIET = QuietBand()
"""Nothing on this symbol can act."""
EVERY_CANDLE = QuietBand(every_candle=True)
