"""Binance market rules for any symbol: the markets file (saved ``exchangeInfo`` answers, trimmed to the
fields the rules need) and, for a symbol it does not list, rules inferred from a candle series.

The file keeps Binance's own shape: per market type (``spot`` = ``GET /api/v3/exchangeInfo``,
``future`` = ``GET /fapi/v1/exchangeInfo``) the answer's ``serverTime`` and ``symbols``, each symbol
with only ``symbol, status, baseAsset, quoteAsset`` (futures also ``contractType, marginAsset``) and
only the filters that carry rules: ``PRICE_FILTER.tickSize``, ``LOT_SIZE.stepSize/minQty/maxQty``
and the minimum notional (``NOTIONAL.minNotional`` on spot since 2023, ``MIN_NOTIONAL.minNotional``
before, ``MIN_NOTIONAL.notional`` on futures). Beside each answer: where it came from and whether it
is complete. ``exchangeInfo`` carries no fees; the rules get Binance's default (VIP 0) fees.

A bundled snapshot ships in ``exchange/data/`` (its sources: ``exchange/data/README.md``);
``tradewake data markets`` fetches today's answers and writes :data:`USER_MARKETS_FILE`, which wins
over the bundled one when present. Pure: no network here.
"""

from __future__ import annotations

import gzip
import json
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from core.errors import ConfigError
from core.ids import Symbol
from core.money import MarketRules

MarketType = Literal["spot", "future"]
Raw = Mapping[str, Any]

FORMAT = "tradewake-markets/1"
BUNDLED_NAME = "binance_markets.json"
USER_MARKETS_FILE = Path("var/markets/binance_markets.json.gz")
"""Where ``tradewake data markets`` writes by default; backtests prefer it to the bundled snapshot."""

SPOT_FEE = Decimal("0.001")
FUTURES_MAKER_FEE = Decimal("0.0002")
FUTURES_TAKER_FEE = Decimal("0.0005")
MAX_DECIMALS = 8
"""Binance quotes prices and quantities with at most 8 decimals."""

_KEEP_SYMBOL = ("symbol", "status", "baseAsset", "quoteAsset", "contractType", "marginAsset")
_KEEP_FILTER = {
    "PRICE_FILTER": ("tickSize",),
    "LOT_SIZE": ("stepSize", "minQty", "maxQty"),
    "NOTIONAL": ("minNotional",),
    "MIN_NOTIONAL": ("minNotional", "notional"),
}


class MarketsFileError(ConfigError):
    """A markets file or an exchangeInfo answer that cannot be read as market rules."""


@dataclass(frozen=True)
class MarketsSnapshot:
    """One market type's saved ``exchangeInfo`` and where it came from."""

    market_type: MarketType
    server_time: datetime
    source: str
    complete: bool
    note: str
    rules: Mapping[Symbol, MarketRules]
    statuses: Mapping[Symbol, str]

    def describe(self) -> str:
        scope = "every symbol" if self.complete else f"{len(self.rules)} symbols (a subset)"
        return f"Binance {self.market_type} exchangeInfo of {self.server_time:%Y-%m-%d}, {scope}, from {self.source}"


@dataclass(frozen=True)
class MarketsFile:
    path: str
    snapshots: Mapping[MarketType, MarketsSnapshot]

    def find(self, symbol: Symbol, market_type: MarketType) -> tuple[MarketRules, MarketsSnapshot] | None:
        snapshot = self.snapshots.get(market_type)
        if snapshot is None or symbol not in snapshot.rules:
            return None
        return snapshot.rules[symbol], snapshot


# ---------------------------------------------------------------- exchangeInfo -> rules


def trim_exchange_info(payload: Raw) -> dict[str, Any]:
    """``payload`` with only the keys market rules need (the file stores this, Binance's shape kept)."""
    symbols = []
    for raw in _symbols(payload):
        kept = {k: raw[k] for k in _KEEP_SYMBOL if k in raw}
        filters = []
        for flt in raw.get("filters", ()):
            keys = _KEEP_FILTER.get(flt.get("filterType", ""))
            if keys:
                filters.append({"filterType": flt["filterType"], **{k: flt[k] for k in keys if k in flt}})
        symbols.append({**kept, "filters": filters})
    return {"serverTime": _server_time_ms(payload), "symbols": symbols}


def rules_from_exchange_info(payload: Raw, market_type: MarketType) -> tuple[dict[Symbol, MarketRules], list[str]]:
    """Rules of every symbol in an ``exchangeInfo`` answer, and the ids skipped (futures other than
    perpetuals: quarterly contracts and symbols not yet listed; symbols missing a rules filter)."""
    rules: dict[Symbol, MarketRules] = {}
    skipped: list[str] = []
    for raw, parsed in _parsed(payload, market_type):
        if parsed is None:
            skipped.append(str(raw.get("symbol")))
        else:
            rules[parsed.symbol] = parsed
    return rules, skipped


def _parsed(payload: Raw, market_type: MarketType) -> list[tuple[Raw, MarketRules | None]]:
    """Every symbol object with its rules (``None``: not a perpetual on futures, or no rules filter)."""
    return [
        (raw, None if market_type == "future" and raw.get("contractType") != "PERPETUAL" else _rules(raw, market_type))
        for raw in _symbols(payload)
    ]


def default_fees(market_type: MarketType) -> tuple[Decimal, Decimal]:
    """(maker, taker): Binance's VIP 0 fees, which ``exchangeInfo`` does not carry."""
    return (SPOT_FEE, SPOT_FEE) if market_type == "spot" else (FUTURES_MAKER_FEE, FUTURES_TAKER_FEE)


def _rules(raw: Raw, market_type: MarketType) -> MarketRules | None:
    filters = {f.get("filterType"): f for f in raw.get("filters", ())}
    price, lot = filters.get("PRICE_FILTER"), filters.get("LOT_SIZE")
    if price is None or lot is None or Decimal(price["tickSize"]) <= 0 or Decimal(lot["stepSize"]) <= 0:
        return None
    base, quote = str(raw["baseAsset"]), str(raw["quoteAsset"])
    settle = str(raw.get("marginAsset") or quote)
    maker, taker = default_fees(market_type)
    return MarketRules(
        symbol=Symbol(f"{base}/{quote}" if market_type == "spot" else f"{base}/{quote}:{settle}"),
        base=base,
        quote=quote,
        tick_size=_plain(price["tickSize"]),
        step_size=_plain(lot["stepSize"]),
        min_qty=_plain(lot.get("minQty", "0")),
        max_qty=_plain(lot["maxQty"]) if Decimal(lot.get("maxQty", "0")) > 0 else None,
        min_notional=_min_notional(filters),
        maker_fee=maker,
        taker_fee=taker,
        contract=market_type == "future",
    )


def _min_notional(filters: Mapping[Any, Raw]) -> Decimal:
    for name, key in (("NOTIONAL", "minNotional"), ("MIN_NOTIONAL", "minNotional"), ("MIN_NOTIONAL", "notional")):
        value = filters.get(name, {}).get(key)
        if value is not None:
            return _plain(value)
    return Decimal(0)


def _plain(text: str) -> Decimal:
    """``"0.01000000"`` -> ``Decimal("0.01")``; ``"9000.00000000"`` -> ``Decimal("9000")``."""
    value = Decimal(str(text)).normalize()
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def _symbols(payload: Raw) -> list[Raw]:
    symbols = payload.get("symbols")
    if not isinstance(symbols, list):
        raise MarketsFileError("not an exchangeInfo answer: no 'symbols' list")
    return symbols


def _server_time_ms(payload: Raw) -> int:
    value = payload.get("serverTime")
    if not isinstance(value, int):
        raise MarketsFileError("not an exchangeInfo answer: no integer 'serverTime'")
    return value


# ---------------------------------------------------------------- the file


def markets_document(snapshots: Iterable[tuple[MarketType, Raw, str, bool, str]]) -> dict[str, Any]:
    """The file's JSON: per market type (market_type, exchangeInfo answer, source, complete, note)."""
    document: dict[str, Any] = {"format": FORMAT}
    for market_type, payload, source, complete, note in snapshots:
        document[market_type] = {
            "source": source, "complete": complete, "note": note, "exchange_info": trim_exchange_info(payload),
        }
    return document


def write_markets_file(path: Path, document: Mapping[str, Any]) -> None:
    """Write ``document`` (gzipped when ``path`` ends in ``.gz``), atomically."""
    text = json.dumps(document, separators=(",", ":"), sort_keys=True) + "\n"
    data = gzip.compress(text.encode(), mtime=0) if path.suffix == ".gz" else text.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


def load_markets_file(path: Path) -> MarketsFile:
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        document = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise MarketsFileError(f"cannot read the markets file {path}: {exc}") from exc
    return parse_markets_document(document, str(path))


def parse_markets_document(document: Raw, path: str) -> MarketsFile:
    if document.get("format") != FORMAT:
        raise MarketsFileError(f"{path}: not a {FORMAT} file (format {document.get('format')!r})")
    snapshots: dict[MarketType, MarketsSnapshot] = {}
    for market_type in ("spot", "future"):
        section = document.get(market_type)
        if section is None:
            continue
        info = section["exchange_info"]
        parsed = [(raw, rules) for raw, rules in _parsed(info, market_type) if rules is not None]
        snapshots[market_type] = MarketsSnapshot(
            market_type=market_type,
            server_time=datetime.fromtimestamp(_server_time_ms(info) / 1000, tz=UTC),
            source=str(section["source"]),
            complete=bool(section["complete"]),
            note=str(section.get("note", "")),
            rules={rules.symbol: rules for _, rules in parsed},
            statuses={rules.symbol: str(raw.get("status", "")) for raw, rules in parsed},
        )
    return MarketsFile(path, snapshots)


@cache
def bundled_markets() -> MarketsFile:
    """The snapshot shipped with the package (read once)."""
    resource = resources.files("exchange.data").joinpath(BUNDLED_NAME)
    document = json.loads(resource.read_text(encoding="utf-8"))
    return parse_markets_document(document, f"bundled {BUNDLED_NAME}")


def default_markets() -> MarketsFile:
    """:data:`USER_MARKETS_FILE` (written by ``tradewake data markets``) when present, else the bundled one."""
    return load_markets_file(USER_MARKETS_FILE) if USER_MARKETS_FILE.is_file() else bundled_markets()


# ---------------------------------------------------------------- inference for a symbol not in the file


def price_decimals(prices: npt.ArrayLike) -> int:
    """The fewest decimals (at most 8) that write every price exactly, float noise aside.

    ``0.09946999000000001`` counts as 8 decimals (its float artefact is ignored), ``4.91e-06`` as 8,
    ``16234.56`` as 2.
    """
    values = np.abs(np.asarray(prices, dtype="float64").ravel())
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        raise ValueError("no positive prices to infer decimals from")
    for decimals in range(MAX_DECIMALS):
        if np.all(np.abs(values - np.round(values, decimals)) <= values * 1e-10):
            return decimals
    return MAX_DECIMALS


def typical_min_notional(markets: MarketsFile, market_type: MarketType, quote: str) -> Decimal:
    """The most common minimum notional among the file's markets in ``quote`` (0 when it has none)."""
    snapshot = markets.snapshots.get(market_type)
    values = [r.min_notional for r in snapshot.rules.values() if r.quote == quote] if snapshot else []
    return statistics.mode(values) if values else Decimal(0)


def infer_rules(
    symbol: Symbol, market_type: MarketType, prices: npt.ArrayLike, markets: MarketsFile
) -> tuple[MarketRules, str]:
    """Rules for a symbol the exchange file does not list, and a sentence saying how they were made.

    - tick: one unit of the prices' last decimal (:func:`price_decimals`);
    - minimum notional: the most common one of the file's markets with the same quote asset;
    - step (and minimum quantity): the largest power of ten at which one step is worth at most a tenth
      of the minimum notional at the series' highest price, so rounding a quantity down never costs
      more than that; 1e-8 when the minimum notional is unknown.
    """
    values = np.asarray(prices, dtype="float64")
    decimals = price_decimals(values)
    base, quote = _assets(symbol)
    min_notional = typical_min_notional(markets, market_type, quote)
    high = float(np.nanmax(values))
    if min_notional > 0 and high > 0:
        exponent = math.floor(math.log10(float(min_notional) / (10 * high)))
        step = Decimal(1).scaleb(max(-MAX_DECIMALS, min(exponent, 3)))
    else:
        step = Decimal(1).scaleb(-MAX_DECIMALS)
    tick = Decimal(1).scaleb(-decimals)
    maker, taker = default_fees(market_type)
    rules = MarketRules(symbol=symbol, base=base, quote=quote, tick_size=tick, step_size=step, min_qty=step,
                        min_notional=min_notional, maker_fee=maker, taker_fee=taker, contract=market_type == "future")
    how = (f"{symbol} is not in the markets file: rules inferred from the candles (tick {tick:f}: prices have "
           f"{decimals} decimals; step {step:f}; min notional {min_notional:f} {quote}, the most common for {quote} "
           "markets in the file)")
    return rules, how


def _assets(symbol: Symbol) -> tuple[str, str]:
    pair = symbol.split(":", 1)[0]
    if "/" not in pair:
        raise ValueError(f"{symbol!r} is not a BASE/QUOTE symbol")
    base, quote = pair.split("/", 1)
    return base, quote
