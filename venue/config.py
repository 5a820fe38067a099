"""``VenueConfig``: everything ``tradewake venue serve`` starts from, validated before anything runs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, model_validator

from core.errors import ConfigError
from core.ids import Symbol
from core.money import MarketRules
from core.timeframes import datetime_to_ms, timeframe_seconds
from exchange.markets import bundled_markets
from exchange.sim.markets import known_market_rules
from exchange.symbols import SymbolError, normalize_symbol
from market.candles import open_ms, read_candles, symbol_from_name, timeframe_from_name
from venue.auth import Credentials
from venue.faults import FaultConfig
from venue.replay import PHASES, Series


class VenueConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    market: Literal["spot", "future"] = "spot"
    data: tuple[Path, ...] = Field(min_length=1)
    """Candle files (``timestamp,open,high,low,close,volume``), one per symbol, same timeframe."""
    symbols: tuple[str, ...] = ()
    """One per data file; default: read from the file names (``binance_BTC-USDT_5m.csv.gz``)."""
    speed: float = Field(default=300.0, ge=0)
    """Venue seconds per wall second (300: one 5m candle per second); 0 starts paused."""
    start: AwareDatetime | None = None
    """Venue time the replay starts at; default: after ``warmup`` candles of history."""
    warmup: int = Field(default=2000, ge=1)
    balances: dict[str, Decimal] = Field(default_factory=lambda: {"USDT": Decimal(10_000)})
    leverage: int = Field(default=20, ge=1, le=125)
    """USDⓈ-M leverage of every symbol until a client sets it (Binance's default is 20)."""
    slippage_bps: Decimal = Field(default=Decimal(0), ge=0)
    funding_rate: Decimal = Decimal("0.0001")
    api_key: str | None = None
    api_secret: SecretStr | None = None
    faults: FaultConfig = Field(default_factory=FaultConfig)
    weight_limit: int | None = Field(default=None, gt=0)
    """Request weight per minute before 429 (default: Binance's, 6,000 spot / 2,400 USDⓈ-M)."""
    ledger: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    """0 picks a free port."""

    @model_validator(mode="after")
    def _coherent(self) -> VenueConfig:
        if self.symbols and len(self.symbols) != len(self.data):
            raise ValueError("give one --symbol per --data file (or none, to read them from the file names)")
        if (self.api_key is None) != (self.api_secret is None):
            raise ValueError("give both the API key and the API secret, or neither (then test credentials are made)")
        return self

    def credentials(self) -> Credentials:
        """The configured credentials, else a fresh random pair (printed once by the CLI)."""
        if self.api_key is not None and self.api_secret is not None:
            return Credentials(self.api_key, self.api_secret.get_secret_value())
        return Credentials("venue" + secrets.token_hex(30), secrets.token_hex(32))


@dataclass(frozen=True)
class LoadedData:
    series: list[Series]
    rules: list[MarketRules]
    timeframe: str


def load_data(config: VenueConfig) -> LoadedData:
    """Read and validate the candle files and find each symbol's Binance market rules: the recorded ones
    (``exchange.sim.markets``), else the bundled snapshot of Binance's exchangeInfo (any listed symbol)."""
    markets = bundled_markets()
    series: list[Series] = []
    rules: list[MarketRules] = []
    timeframes: set[str] = set()
    for index, path in enumerate(config.data):
        symbol = _symbol(config, index, path)
        resolved = known_market_rules(symbol, config.market, markets)
        if resolved is None:
            raise ConfigError(f"the venue has no market rules for {symbol} ({config.market}): not in "
                              f"{markets.path}")
        timeframe = timeframe_from_name(path.name)
        frame, report = read_candles(path, timeframe)
        timeframes.add(report.timeframe)
        series.append(
            Series.from_arrays(symbol, open_ms(frame), frame.to_numpy(dtype="float64"), resolved.rules.tick_size)
        )
        rules.append(resolved.rules)
    if len(timeframes) != 1:
        raise ConfigError(f"all data files must share one timeframe, found {', '.join(sorted(timeframes))}")
    timeframe = timeframes.pop()
    if (timeframe_seconds(timeframe) * 1000) % PHASES:
        raise ConfigError(f"timeframe {timeframe} cannot be cut into {PHASES} replay steps")
    return LoadedData(series, rules, timeframe)


def _symbol(config: VenueConfig, index: int, path: Path) -> Symbol:
    raw = config.symbols[index] if config.symbols else symbol_from_name(path.name)
    if raw is None:
        raise ConfigError(f"cannot tell the symbol of {path.name}; pass --symbol")
    try:
        return normalize_symbol(raw, config.market)
    except SymbolError as exc:
        raise ConfigError(f"--symbol {raw}: {exc}") from exc


def replay_start_ms(config: VenueConfig) -> int | None:
    return None if config.start is None else datetime_to_ms(config.start)

