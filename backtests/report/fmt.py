"""Numbers for people: rounded, with units and thousands separators; ``—`` for a value that does not exist.

The report and the dashboard use only these (as Jinja filters), so a number reads the same everywhere.
The JSON files keep full precision; this is display only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

MISSING = "—"
Number = float | int | Decimal | str | None


def _float(value: Number) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def num(value: Number, digits: int = 2) -> str:
    x = _float(value)
    return MISSING if x is None else f"{x:,.{digits}f}"


def signed(value: Number, digits: int = 2) -> str:
    x = _float(value)
    return MISSING if x is None else f"{x:+,.{digits}f}"


def pct(value: Number, digits: int = 2) -> str:
    x = _float(value)
    return MISSING if x is None else f"{x:,.{digits}f}%"


def signed_pct(value: Number, digits: int = 2) -> str:
    x = _float(value)
    return MISSING if x is None else f"{x:+,.{digits}f}%"


def money(value: Number) -> str:
    """An amount in the quote currency: two decimals, thousands separated."""
    return num(value, 2)


def signed_money(value: Number) -> str:
    return signed(value, 2)


def price(value: Number) -> str:
    """A market price with the decimals its size needs (BTC 2, a 0.35 coin 4, a tiny one 8)."""
    x = _float(value)
    if x is None:
        return MISSING
    magnitude = abs(x)
    digits = 2 if magnitude >= 100 else 4 if magnitude >= 1 else 6 if magnitude >= 0.01 else 8
    return f"{x:,.{digits}f}"


def qty(value: Number) -> str:
    """A quantity as exact as it was ordered, without trailing zeros."""
    if value is None or value == "":
        return MISSING
    text = format(Decimal(str(value)).normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def usd(value: Number) -> str:
    """Dollars of LLM spend: cents, or four decimals below a cent so a small cost is not shown as $0.00."""
    x = _float(value)
    if x is None:
        return MISSING
    return f"${x:,.4f}" if 0 < abs(x) < 0.01 else f"${x:,.2f}"


def count(value: Number) -> str:
    x = _float(value)
    return MISSING if x is None else f"{round(x):,}"


def tokens(value: Number) -> str:
    """``950``, ``12.3k``, ``4.56M``."""
    x = _float(value)
    if x is None:
        return MISSING
    if abs(x) >= 1e6:
        return f"{x / 1e6:.2f}M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:.1f}k"
    return f"{round(x):,}"


def duration(seconds: Number) -> str:
    """``3 d 4 h``, ``5 h 20 min``, ``45 min``: the two largest units."""
    x = _float(seconds)
    if x is None:
        return MISSING
    minutes = round(abs(x) / 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def days(value: Number) -> str:
    x = _float(value)
    return MISSING if x is None else duration(x * 86400)


def when(value: datetime | str | None) -> str:
    """UTC, to the minute: ``2025-01-08 14:00``."""
    if value is None or value == "":
        return MISSING
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M}"


def day(value: datetime | str | None) -> str:
    if value is None or value == "":
        return MISSING
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{at.astimezone(UTC):%Y-%m-%d}"


def tone(value: Number) -> str:
    """A CSS class for a signed number: ``pos``, ``neg`` or ``flat``."""
    x = _float(value)
    if x is None or x == 0:
        return "flat"
    return "pos" if x > 0 else "neg"


def by(value: Number, name: str) -> str:
    """The filter called ``name`` (for a table whose rows say how each value is shown)."""
    shown: str = FILTERS[name](value)
    return shown


FILTERS: dict[str, Any] = {
    "num": num, "signed": signed, "pct": pct, "signed_pct": signed_pct, "money": money,
    "signed_money": signed_money, "price": price, "qty": qty, "usd": usd, "count": count, "tokens": tokens,
    "duration": duration, "days": days, "when": when, "day": day, "tone": tone, "by": by,
}  # fmt: skip
