"""The LLM budget: wakes, tokens and dollars per rolling hour and per rolling day.

Checked *before* a wake is granted (a risk limit, like pydantic-ai's ``check_before_request``). When
any limit is spent the wake still happens, flagged ``fallback=True`` with the reason: the rule-based
backend takes it. Only wakes that went to the LLM count against the wake limits. Windows are keyed
on the event times the gate is given (the injected clock), never on the wall clock. Dollars are kept
in integer micro-dollars so the running sums are exact and adding/removing is O(1).
"""

from __future__ import annotations

from collections import deque
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

    @classmethod
    def from_settings(cls, llm: LLMSettings) -> BudgetLimits:
        return cls(
            wakes_per_hour=llm.max_wakes_per_hour,
            wakes_per_day=llm.max_wakes_per_day,
            tokens_per_hour=llm.max_tokens_per_hour,
            tokens_per_day=llm.max_tokens_per_day,
            usd_per_hour=llm.max_usd_per_hour,
            usd_per_day=llm.max_usd_per_day,
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
        while self.entries and self.entries[0][0] <= now_ts - self.span_s:
            _, tokens, micro_usd = self.entries.popleft()
            self.tokens -= tokens
            self.micro_usd -= micro_usd

    def __len__(self) -> int:
        return len(self.entries)


class LLMBudget:
    def __init__(self, limits: BudgetLimits) -> None:
        self.limits = limits
        self._wakes = {"hour": _Window(HOUR_S), "day": _Window(DAY_S)}
        self._usage = {"hour": _Window(HOUR_S), "day": _Window(DAY_S)}

    def exhausted(self, now_ts: float) -> str | None:
        """Why a wake at ``now_ts`` may not go to the LLM, or ``None`` if it may."""
        self._prune(now_ts)
        checks = (
            ("wakes", "hour", len(self._wakes["hour"]) + 1 > self.limits.wakes_per_hour, self.limits.wakes_per_hour),
            ("wakes", "day", len(self._wakes["day"]) + 1 > self.limits.wakes_per_day, self.limits.wakes_per_day),
            ("tokens", "hour", self._usage["hour"].tokens >= self.limits.tokens_per_hour, self.limits.tokens_per_hour),
            ("tokens", "day", self._usage["day"].tokens >= self.limits.tokens_per_day, self.limits.tokens_per_day),
            (
                "usd",
                "hour",
                self._usage["hour"].micro_usd >= _micro(self.limits.usd_per_hour),
                self.limits.usd_per_hour,
            ),
            ("usd", "day", self._usage["day"].micro_usd >= _micro(self.limits.usd_per_day), self.limits.usd_per_day),
        )
        for what, window, spent, limit in checks:
            if spent:
                return f"llm budget spent: {what} per {window} at its limit of {limit:g}"
        return None

    def record_wake(self, now_ts: float) -> None:
        for window in self._wakes.values():
            window.add(now_ts, 0, 0)

    def record_usage(self, ts: float, tokens: int, usd: float) -> None:
        if tokens < 0 or usd < 0:
            raise ValueError("usage cannot be negative")
        for window in self._usage.values():
            window.add(ts, tokens, _micro(usd))

    def status(self, now_ts: float) -> BudgetStatus:
        reason = self.exhausted(now_ts)
        return BudgetStatus(
            wakes_last_hour=len(self._wakes["hour"]),
            wakes_last_day=len(self._wakes["day"]),
            tokens_last_hour=self._usage["hour"].tokens,
            tokens_last_day=self._usage["day"].tokens,
            usd_last_hour=self._usage["hour"].micro_usd / _MICRO,
            usd_last_day=self._usage["day"].micro_usd / _MICRO,
            exhausted=reason,
        )

    def _prune(self, now_ts: float) -> None:
        for window in (*self._wakes.values(), *self._usage.values()):
            window.prune(now_ts)

    def to_state(self) -> dict[str, Any]:
        # The day windows hold everything the hour windows hold (and older entries); the hour windows
        # are rebuilt from them on restore.
        return {
            "wakes": [ts for ts, _, _ in self._wakes["day"].entries],
            "usage": [[ts, tokens, micro] for ts, tokens, micro in self._usage["day"].entries],
            "hour_wakes": len(self._wakes["hour"]),
            "hour_usage": len(self._usage["hour"]),
        }

    @classmethod
    def from_state(cls, limits: BudgetLimits, state: dict[str, Any]) -> LLMBudget:
        budget = cls(limits)
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
