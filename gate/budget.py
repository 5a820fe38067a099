"""The LLM budget: wakes, tokens and dollars per rolling hour and per rolling day.

Checked *before* a wake is granted (a risk limit, like pydantic-ai's ``check_before_request``). When
any limit is spent the wake still happens, flagged ``fallback=True`` with the reason: the rule-based
backend takes it. Only wakes that went to the LLM count against the wake limits. Windows are keyed
on the event times the gate is given (the injected clock), never on the wall clock. Dollars are kept
in integer micro-dollars so the running sums are exact and adding/removing is O(1).

Wakes are limited per symbol as well as globally, so one busy market cannot take every LLM wake of a
runner that watches several: by default a symbol's share is the global limit divided by the number of
symbols, rounded up (with one symbol, the global limit itself). Tokens and dollars stay global.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from core.settings import LLMSettings

HOUR_S = 3600.0
DAY_S = 86400.0
_MICRO = 1_000_000


@dataclass(frozen=True, slots=True)
class BudgetLimits:
    wakes_per_hour: int
    wakes_per_day: int
    tokens_per_hour: int
    tokens_per_day: int
    usd_per_hour: float
    usd_per_day: float
    wakes_per_hour_per_symbol: int | None = None
    """``None``: ``wakes_per_hour`` divided by the number of symbols, rounded up."""
    wakes_per_day_per_symbol: int | None = None

    @classmethod
    def from_settings(cls, llm: LLMSettings) -> BudgetLimits:
        return cls(
            wakes_per_hour=llm.max_wakes_per_hour,
            wakes_per_day=llm.max_wakes_per_day,
            tokens_per_hour=llm.max_tokens_per_hour,
            tokens_per_day=llm.max_tokens_per_day,
            usd_per_hour=llm.max_usd_per_hour,
            usd_per_day=llm.max_usd_per_day,
            wakes_per_hour_per_symbol=llm.max_wakes_per_hour_per_symbol,
            wakes_per_day_per_symbol=llm.max_wakes_per_day_per_symbol,
        )

    def per_symbol(self, symbols: int) -> tuple[int, int]:
        """The wake limits of one symbol (hour, day) when the runner watches ``symbols`` of them."""
        share = max(1, symbols)
        hour = self.wakes_per_hour_per_symbol
        day = self.wakes_per_day_per_symbol
        return (
            hour if hour is not None else math.ceil(self.wakes_per_hour / share),
            day if day is not None else math.ceil(self.wakes_per_day / share),
        )


class BudgetStatus(BaseModel):
    """Use of the budget in the rolling windows ending at ``as_of_ts`` (for journals and the agent)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wakes_last_hour: int
    wakes_last_day: int
    tokens_last_hour: int
    tokens_last_day: int
    usd_last_hour: float
    usd_last_day: float
    symbol_wakes_last_hour: int | None = None
    """The asked symbol's own LLM wakes in the last hour (``None`` when no symbol was asked about)."""
    symbol_wakes_last_day: int | None = None
    exhausted: str | None
    """Why the next wake would go to the fallback, or ``None`` while the LLM may be woken."""


class _Window:
    """Entries ``(ts, tokens, micro_usd)`` younger than ``span_s``, with exact running sums."""

    __slots__ = ("entries", "micro_usd", "span_s", "tokens")

    def __init__(self, span_s: float) -> None:
        self.span_s = span_s
        self.entries: deque[tuple[float, int, int]] = deque()
        self.tokens = 0
        self.micro_usd = 0

    def add(self, ts: float, tokens: int, micro_usd: int) -> None:
        if self.entries and ts < self.entries[-1][0]:
            ts = self.entries[-1][0]  # keep the window ordered; a late report counts a little longer
        self.entries.append((ts, tokens, micro_usd))
        self.tokens += tokens
        self.micro_usd += micro_usd

    def prune(self, now_ts: float) -> None:
        entries, cutoff = self.entries, now_ts - self.span_s
        while entries and entries[0][0] <= cutoff:
            _, tokens, micro_usd = entries.popleft()
            self.tokens -= tokens
            self.micro_usd -= micro_usd

    def __len__(self) -> int:
        return len(self.entries)


def _wake_windows() -> dict[str, _Window]:
    return {"hour": _Window(HOUR_S), "day": _Window(DAY_S)}


class LLMBudget:
    def __init__(self, limits: BudgetLimits, symbols: int = 1) -> None:
        self.limits = limits
        self.symbol_limits = limits.per_symbol(symbols)
        self._wakes = _wake_windows()
        self._usage = {"hour": _Window(HOUR_S), "day": _Window(DAY_S)}
        self._symbol_wakes: dict[str, dict[str, _Window]] = {}
        self._micro_usd = (_micro(limits.usd_per_hour), _micro(limits.usd_per_day))
        self._windows: tuple[_Window, ...] = ()
        """Every window, for ``_prune`` (rebuilt when a symbol's windows were added: ``_windows_symbols``)."""
        self._windows_symbols = -1

    def exhausted(self, now_ts: float, symbol: str | None = None) -> str | None:
        """Why a wake at ``now_ts`` (about ``symbol``, if given) may not go to the LLM, or ``None`` if it may."""
        self._prune(now_ts)
        limits, wakes, usage = self.limits, self._wakes, self._usage
        checks = (
            ("wakes", "hour", len(wakes["hour"]) + 1 > limits.wakes_per_hour, limits.wakes_per_hour),
            ("wakes", "day", len(wakes["day"]) + 1 > limits.wakes_per_day, limits.wakes_per_day),
            ("tokens", "hour", usage["hour"].tokens >= limits.tokens_per_hour, limits.tokens_per_hour),
            ("tokens", "day", usage["day"].tokens >= limits.tokens_per_day, limits.tokens_per_day),
            ("usd", "hour", usage["hour"].micro_usd >= self._micro_usd[0], limits.usd_per_hour),
            ("usd", "day", usage["day"].micro_usd >= self._micro_usd[1], limits.usd_per_day),
        )
        for what, window, spent, limit in checks:
            if spent:
                return f"llm budget spent: {what} per {window} at its limit of {limit:g}"
        return self._symbol_exhausted(symbol) if symbol is not None else None

    def _symbol_exhausted(self, symbol: str) -> str | None:
        mine = self._symbol_wakes.get(symbol)
        for window, cap in zip(("hour", "day"), self.symbol_limits, strict=True):
            if (len(mine[window]) if mine else 0) + 1 > cap:
                return f"llm budget spent: {symbol}'s wakes per {window} at its limit of {cap}"
        return None

    def record_wake(self, now_ts: float, symbol: str | None = None) -> None:
        windows = [*self._wakes.values()]
        if symbol is not None:
            mine = self._symbol_wakes.get(symbol)  # (not setdefault: that would build new windows on every wake)
            if mine is None:
                mine = self._symbol_wakes[symbol] = _wake_windows()
            windows.extend(mine.values())
        for window in windows:
            window.add(now_ts, 0, 0)

    def hold_wakes(self, wakes: Sequence[tuple[float, str | None]]) -> None:
        """For each ``(ts, symbol)`` in order: ``record_wake`` unless ``exhausted``, then ``record_usage(ts, 0, 0.0)``
        (a wake whose decision held: no tokens, no dollars), through the same methods a decided wake goes through, so
        the budget's rules live in one place (``Gate.hold_many``: a backtest holds thousands of wakes in bulk)."""
        for ts, symbol in wakes:
            if self.exhausted(ts, symbol) is None:
                self.record_wake(ts, symbol)
            self.record_usage(ts, 0, 0.0)

    def record_usage(self, ts: float, tokens: int, usd: float) -> None:
        if tokens < 0 or usd < 0:
            raise ValueError("usage cannot be negative")
        micro_usd = _micro(usd)
        for window in self._usage.values():
            window.add(ts, tokens, micro_usd)

    def status(self, now_ts: float, symbol: str | None = None) -> BudgetStatus:
        reason = self.exhausted(now_ts, symbol)
        mine = self._symbol_wakes.get(symbol) if symbol is not None else None
        return BudgetStatus(
            wakes_last_hour=len(self._wakes["hour"]),
            wakes_last_day=len(self._wakes["day"]),
            tokens_last_hour=self._usage["hour"].tokens,
            tokens_last_day=self._usage["day"].tokens,
            usd_last_hour=self._usage["hour"].micro_usd / _MICRO,
            usd_last_day=self._usage["day"].micro_usd / _MICRO,
            symbol_wakes_last_hour=None if symbol is None else (len(mine["hour"]) if mine else 0),
            symbol_wakes_last_day=None if symbol is None else (len(mine["day"]) if mine else 0),
            exhausted=reason,
        )

    def _prune(self, now_ts: float) -> None:
        if self._windows_symbols != len(self._symbol_wakes):  # symbols' windows are only ever added
            symbol_windows = [w for windows in self._symbol_wakes.values() for w in windows.values()]
            self._windows = (*self._wakes.values(), *self._usage.values(), *symbol_windows)
            self._windows_symbols = len(self._symbol_wakes)
        for window in self._windows:
            window.prune(now_ts)

    def to_state(self) -> dict[str, Any]:
        # The day windows hold everything the hour windows hold (and older entries); the hour windows
        # are rebuilt from them on restore.
        return {
            "wakes": [ts for ts, _, _ in self._wakes["day"].entries],
            "usage": [[ts, tokens, micro] for ts, tokens, micro in self._usage["day"].entries],
            "hour_wakes": len(self._wakes["hour"]),
            "hour_usage": len(self._usage["hour"]),
            "symbol_wakes": {
                symbol: {"day": [ts for ts, _, _ in w["day"].entries], "hour": len(w["hour"])}
                for symbol, w in sorted(self._symbol_wakes.items())
            },
        }

    @classmethod
    def from_state(cls, limits: BudgetLimits, state: dict[str, Any], symbols: int = 1) -> LLMBudget:
        budget = cls(limits, symbols)
        for symbol, saved in state.get("symbol_wakes", {}).items():  # absent in states saved before per-symbol
            windows = budget._symbol_wakes.setdefault(symbol, _wake_windows())
            day = [float(ts) for ts in saved["day"]]
            for ts in day:
                windows["day"].add(ts, 0, 0)
            for ts in day[len(day) - int(saved["hour"]) :]:
                windows["hour"].add(ts, 0, 0)
        wakes = [float(ts) for ts in state["wakes"]]
        usage = [(float(ts), int(tokens), int(micro)) for ts, tokens, micro in state["usage"]]
        for ts in wakes:
            budget._wakes["day"].add(ts, 0, 0)
        for ts in wakes[len(wakes) - int(state["hour_wakes"]) :]:
            budget._wakes["hour"].add(ts, 0, 0)
        for entry in usage:
            budget._usage["day"].add(*entry)
        for entry in usage[len(usage) - int(state["hour_usage"]) :]:
            budget._usage["hour"].add(*entry)
        return budget


def _micro(usd: float) -> int:
    return round(usd * _MICRO)
