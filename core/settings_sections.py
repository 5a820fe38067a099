"""The section models of the settings tree (``exchange``, ``risk``, ``gate``, ``llm``, ``learner``, ``store``,
``alerts``, ``backtest``) and the run modes; ``core.settings`` assembles them into ``Settings`` and loads it.

Every section is ``frozen=True, extra="forbid"`` and refuses ``inf``/``nan``; the attribute docstrings are the
fields' descriptions (``tradewake init`` writes them into the commented settings file, ``core.settings_toml``).
The ``runner`` section lives in :mod:`core.runner_settings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from core.settings_sources import user_data_dir
from core.timeframes import timeframe_seconds

_SECTION = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, use_attribute_docstrings=True)
"""Every section: frozen, no unknown key, no inf/nan; the attribute docstrings are the fields' descriptions
(``tradewake init`` writes them into the commented settings file)."""


def _no_nul(path: Path) -> Path:
    if "\x00" in str(path):
        raise ValueError("a path cannot contain a NUL character")
    return path


FilePath = Annotated[Path, AfterValidator(_no_nul)]
"""A path setting (TOML can spell a NUL character; no file system takes one)."""
MAX_DURATION_S = 366 * 86400
"""Upper bound of every duration setting: a year is already absurd, and bounded times never overflow a date."""


class RunMode(StrEnum):
    BACKTEST = "backtest"
    PAPER = "paper"
    TESTNET = "testnet"
    MAINNET = "mainnet"


class ExchangeSettings(BaseModel):
    model_config = _SECTION

    exchange: Literal["binance"] = "binance"
    market_type: Literal["spot", "future"] = "spot"
    """``future`` means Binance USDT-margined perpetuals (``BTC/USDT:USDT``)."""
    symbols: tuple[str, ...] = ("BTC/USDT",)
    """Markets a live run trades (a backtest trades its data's market)."""
    quote: str = "USDT"
    """The currency the account's cash is held in."""
    api_key: SecretStr | None = None
    """Exchange API key (testnet keys for testnet)."""
    api_secret: SecretStr | None = None
    client_id_prefix: str = Field(default="tw", pattern=r"^[A-Za-z0-9]{1,12}$")
    """Prefix of every client order id we send; reconciliation recognises our orders by it."""
    request_timeout_s: float = Field(default=10.0, gt=0, le=600)
    max_retries: int = Field(default=4, ge=0, le=10)
    backoff_base_s: float = Field(default=0.5, gt=0, le=600)
    backoff_cap_s: float = Field(default=30.0, gt=0, le=3600)
    cancel_orphans: bool = False
    """Cancel open orders with our prefix that state does not know about (else only report them)."""
    leverage: int = Field(default=1, ge=1, le=125)
    """USDT-M futures: the leverage set on every traded symbol at start-up and read back before its first entry.
    The account's setting decides the margin and the liquidation price, whatever a proposal says; at most
    ``risk.max_leverage`` (mainnet: ``risk.mainnet_max_leverage``)."""
    margin_type: Literal["cross", "isolated"] = "cross"
    """USDT-M futures: the margin type set on every traded symbol at start-up (isolated is refused in Binance's
    Multi-Assets Mode). A hedge-mode account is refused: tradewake trades one-way mode."""
    venue_url: str | None = Field(default=None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$")
    """Reach the venue at this base URL instead of Binance's hosts (e.g. ``http://127.0.0.1:8765``, a local
    Binance-compatible venue): REST there, websockets on the same host (``ws://``); paths and the mode's
    network (testnet, demo, mainnet) are kept. Orders and live candles both go there."""


class RiskSettings(BaseModel):
    """Limits the safety layer enforces. Percentages are of account equity unless named otherwise."""

    model_config = _SECTION

    max_position_pct: float = Field(default=20.0, gt=0, le=1000)
    """Notional of one position as % of equity."""
    max_total_exposure_pct: float = Field(default=50.0, gt=0, le=2000)
    """Notional of all open positions together as % of equity."""
    max_leverage: float = Field(default=3.0, ge=1, le=125)
    reduce_oversize_to_cap: bool = True
    """A size above the cap is reduced to the cap and reported (True) or vetoed (False)."""
    stop_min_distance_pct: float = Field(default=0.3, gt=0)
    """A stop closer than this % to the entry price is refused (noise would hit it)."""
    stop_max_distance_pct: float = Field(default=8.0, gt=0)
    """A stop further than this % from the entry price is refused (too much at risk)."""
    allow_pyramiding: bool = False
    cooldown_after_exit_s: int = Field(default=900, ge=0, le=MAX_DURATION_S)
    """No new entry in a market this long after a position there closed."""
    fat_finger_band_pct: float = Field(default=2.0, gt=0)
    """A limit price further than this from the last price is refused."""
    stale_data_s: int = Field(default=600, gt=0, le=MAX_DURATION_S)
    """An entry is refused when the last price is older than this."""
    max_orders_per_day: int = Field(default=60, gt=0)
    daily_loss_limit_pct: float = Field(default=4.0, gt=0)
    """The trading breaker opens when the day's loss reaches this % of equity."""
    max_trades_per_day: int = Field(default=12, gt=0)
    """Entries per UTC day before the trading breaker opens."""
    max_consecutive_losses: int = Field(default=4, gt=0)
    """Losing trades in a row before the trading breaker opens."""
    breaker_cooldown_s: int = Field(default=4 * 3600, ge=0, le=MAX_DURATION_S)
    """How long the trading breaker stays open before trading may resume."""
    exchange_error_threshold: int = Field(default=5, gt=0)
    exchange_error_cooldown_s: int = Field(default=300, ge=0, le=MAX_DURATION_S)
    mainnet_max_position_pct: float = Field(default=10.0, gt=0)
    """On mainnet the smaller of this and max_position_pct applies."""
    mainnet_max_total_exposure_pct: float = Field(default=25.0, gt=0)
    """On mainnet the smaller of this and max_total_exposure_pct applies."""
    mainnet_max_leverage: float = Field(default=2.0, ge=1)
    """On mainnet the smaller of this and max_leverage applies."""
    take_profit_fraction: float = Field(default=0.5, gt=0, le=1)
    """Share of the entry quantity the first take-profit closes; the stop then moves to break-even.
    1.0 closes everything at the take-profit."""
    break_even_offset_pct: float = Field(default=0.1, ge=0)
    """The break-even stop sits this % beyond the entry price, so it also covers round-trip fees."""
    trailing_min_step_pct: float = Field(default=0.1, ge=0)
    """A trailing stop moves only when it tightens by at least this % (fewer order replacements)."""
    watchdog_grace_s: int = Field(default=10, ge=0, le=MAX_DURATION_S)
    """How long price may sit through a live stop that has not filled before the guard exits at market."""
    max_stop_attempts: int = Field(default=3, gt=0)
    """Consecutive failed stop placements after which the guard exits the position at market."""
    repeated_veto_alert: int = Field(default=3, gt=0)
    """This many consecutive vetoes raise an alert (the agent may be stuck in a loop)."""
    liquidation_margin_pct: float = Field(default=0.5, ge=0)
    """Futures: an entry's stop must sit at least this % of the entry price before the price at which the
    account would liquidate the position (leverage, margin type and brackets in force): the room for the gap
    between last and mark price and the stop's slippage. A stop beyond it never fills."""

    @model_validator(mode="after")
    def _coherent(self) -> RiskSettings:
        if self.stop_min_distance_pct >= self.stop_max_distance_pct:
            raise ValueError("risk.stop_min_distance_pct must be below risk.stop_max_distance_pct")
        if self.max_position_pct > self.max_total_exposure_pct:
            raise ValueError("risk.max_position_pct cannot exceed risk.max_total_exposure_pct")
        return self

    def effective_for(self, mode: RunMode) -> RiskSettings:
        """The limits in force in ``mode``: on mainnet the smaller of each general and ``mainnet_*`` cap."""
        if mode is not RunMode.MAINNET:
            return self
        return self.model_copy(
            update={
                "max_position_pct": min(self.max_position_pct, self.mainnet_max_position_pct),
                "max_total_exposure_pct": min(self.max_total_exposure_pct, self.mainnet_max_total_exposure_pct),
                "max_leverage": min(self.max_leverage, self.mainnet_max_leverage),
            }
        )


class GateSettings(BaseModel):
    """When the gate wakes the agent. Chosen by measurement on the bundled real BTC/USDT series (see
    ``docs/gate.md``): with these defaults 4.4 % of 5m candles wake the agent (about 13 wakes a day)
    and every one of the top-1 % absolute-return 5m candles is followed by a wake at it or the next."""

    model_config = _SECTION

    candle_close_timeframes: tuple[str, ...] = ("4h",)
    """Wake when a candle of one of these timeframes closes: six routine looks a day. ``1h`` alone
    would already be 8.3 % of 5m candles."""
    timer_min_s: int = Field(default=900, gt=0, le=MAX_DURATION_S)
    """The agent's ``next_check_seconds`` is clamped up to this: fast reactions come from wake
    conditions and anomalies, which are evaluated on every event, not from polling."""
    timer_max_s: int = Field(default=4 * 3600, gt=0, le=MAX_DURATION_S)
    """The agent's ``next_check_seconds`` is clamped down to this. It is also the interval the timer
    runs at when no agent schedule is in force (start-up, after a wake, in the benchmark)."""
    return_z_threshold: float = Field(default=2.5, gt=0)
    """Anomaly when a candle's close-to-close log return is this many standard deviations from the
    mean of the long baseline below."""
    return_baseline_halflife_h: float = Field(default=720.0, gt=0)
    """Half-life (hours) of the exponentially weighted return mean and variance: 30 days. Volatility
    clusters, so a short baseline (e.g. one day) normalises the largest moves away."""
    volume_z_threshold: float = Field(default=5.0, gt=0)
    """Anomaly when log(1 + volume) is this many standard deviations above its baseline."""
    volume_baseline_halflife_h: float = Field(default=24.0, gt=0)
    """Half-life (hours) of the volume baseline: one day, so the daily volume cycle stays in it."""
    anomaly_min_history: int = Field(default=240, ge=20)
    """Candles a symbol's baseline needs before the anomaly layer may fire (a live start preloads 288)."""
    cooldown_s: int = Field(default=900, ge=0, le=MAX_DURATION_S)
    """A candle-close wake this soon after any granted wake is suppressed (and journaled). Anomaly,
    condition, timer and feed-stale wakes pass: the largest moves cluster, and a 15-minute cooldown
    on anomalies drops the measured recall from 100 % to 73 %."""
    feed_stale_s: int = Field(default=300, gt=0, le=MAX_DURATION_S)
    """No market event for this long forces one ``feed_stale`` wake per silence."""
    max_conditions: int = Field(default=8, ge=0)
    """Most wake conditions the agent may have armed at once."""
    condition_max_horizon_s: int = Field(default=7 * 86400, gt=0, le=MAX_DURATION_S)
    """An ``at_time`` condition may lie at most this far ahead."""

    @model_validator(mode="after")
    def _timer_bounds(self) -> GateSettings:
        if self.timer_min_s > self.timer_max_s:
            raise ValueError("gate.timer_min_s must not exceed gate.timer_max_s")
        for timeframe in self.candle_close_timeframes:
            timeframe_seconds(timeframe)  # raises ValueError naming the bad timeframe
        return self


class LLMSettings(BaseModel):
    model_config = _SECTION

    backend: Literal["rules", "replay", "anthropic", "claude-code"] = "rules"
    """Who decides: rules (no LLM), replay (a recorded cassette), anthropic (Messages API), claude-code (Agent SDK)."""
    model: str = "claude-sonnet-4-6"
    """Pinned model id; its price must be in agent/pricing.py (claude-sonnet-4-5 reaches end-of-life 2026-11-30)."""
    max_tokens: int = Field(default=2048, gt=0)
    thinking_budget_tokens: int = Field(default=0, ge=0)
    """0 disables extended thinking (pinned so latency and cost stay predictable)."""
    max_turns: int = Field(default=8, gt=0)
    timeout_s: float = Field(default=60.0, gt=0, le=3600)
    """Seconds before one decision's model call is given up (the rules fallback decides)."""
    api_key: SecretStr | None = None
    """Anthropic API key (or ANTHROPIC_API_KEY)."""
    oauth_token: SecretStr | None = None
    max_wakes_per_hour: int = Field(default=6, ge=0)
    """LLM wakes per hour; beyond it the rules fallback decides, flagged."""
    max_wakes_per_day: int = Field(default=48, ge=0)
    max_wakes_per_hour_per_symbol: int | None = Field(default=None, ge=0)
    """One symbol's share of the hourly wakes, so several symbols do not starve each other; ``None``: the
    hourly limit divided by the number of symbols, rounded up (one symbol: the whole limit)."""
    max_wakes_per_day_per_symbol: int | None = Field(default=None, ge=0)
    """The same per day; ``None``: the daily limit divided by the number of symbols, rounded up."""
    max_tokens_per_hour: int = Field(default=300_000, ge=0)
    """LLM budget the gate checks before granting a wake (with the other ``max_*`` limits here);
    when any is spent the wake goes to the rule-based fallback, flagged. 0 means never the LLM."""
    max_tokens_per_day: int = Field(default=1_500_000, ge=0)
    max_usd_per_hour: float = Field(default=1.0, ge=0)
    max_usd_per_day: float = Field(default=10.0, ge=0)
    breaker_failures: int = Field(default=3, gt=0)
    """Consecutive failed LLM calls that open the LLM breaker (the rules fallback decides)."""
    breaker_probe_after_s: int = Field(default=900, gt=0, le=MAX_DURATION_S)
    memory_max_chars: int = Field(default=2000, gt=0)
    cache_ttl: Literal["5m", "1h"] = "1h"
    """TTL of the cached stable prefix (tools + system prompt). Decisions are mostly more than five minutes
    apart (the gate's 4h closes, anomalies, the agent's own checks), so a 5-minute entry is re-written at
    almost every decision; a 1-hour write costs 2x input instead of 1.25x and pays off after two reads."""
    cassette: FilePath | None = None
    cassette_miss: Literal["error", "rules"] = "error"
    max_retries: int = Field(default=2, ge=0, le=10)
    """SDK-level retries of one request (429/529/connection) before it counts as a breaker failure."""
    base_url: str | None = None
    """Messages API base URL; ``None`` uses the SDK default (or ``ANTHROPIC_BASE_URL``)."""
    claude_config_dir: FilePath | None = None
    """Isolated ``CLAUDE_CONFIG_DIR`` for the claude-code backend; ``None`` makes a private temp dir."""
    rules_min_score: float = Field(default=0.35, gt=0, le=1)
    """The rules backend enters when the weighted signal score reaches this (and exits below its negative)."""
    rules_weights: Literal["learner", "equal"] = "learner"
    """How the rules backend weighs the signals: the learner's Thompson samples, or every signal 0.5 (the
    learner's ablation baseline, docs/learner.md; the learner still records every trade)."""

    @model_validator(mode="after")
    def _thinking_fits(self) -> LLMSettings:
        if self.thinking_budget_tokens and not 1024 <= self.thinking_budget_tokens < self.max_tokens:
            raise ValueError("llm.thinking_budget_tokens must be 0 (off) or at least 1024 and below llm.max_tokens")
        return self


class LearnerSettings(BaseModel):
    model_config = _SECTION

    prior_alpha: float = Field(default=1.0, gt=0)
    prior_beta: float = Field(default=1.0, gt=0)
    reward: Literal["r_multiple", "win_loss"] = "r_multiple"
    """What a closed trade teaches: ``r_multiple`` maps its R multiple to a reward in [0, 1]
    (``0.5 + R / (2 * r_reward_scale)``, clipped: a full stop-loss is a clear loss, a scratch trade teaches
    almost nothing either way, a large winner a clear win); ``win_loss`` counts a whole win or loss."""
    r_reward_scale: float = Field(default=2.0, gt=0)
    """The R multiple at which the reward saturates at 1 (and its negative at 0). 2: a full stop-loss (-1 R)
    credits 0.25 of a win, a +2 R winner a whole one; within +-2 R the posterior mean is linear in the
    expectancy (``mean = 0.5 + E[R] / 4``), so a signal whose wins are large beats one of equal hit rate."""
    weight_by_r: bool = False
    """Weight each trade's evidence by min(|R multiple|, ``r_weight_cap``) instead of 1."""
    r_weight_cap: float = Field(default=3.0, gt=0)
    """Clamp of the R weight: one outlier trade counts at most this many ordinary ones."""
    discount: float = Field(default=1.0, gt=0, le=1)
    """Multiplies old evidence on each update (non-stationary markets: 0.98 halves a trade's weight after
    about 34 later trades); 1.0 keeps it all."""
    min_trades: int = Field(default=20, ge=0)
    """Closed trades a regime needs before its own posteriors are used (else the global ones)."""
    seed: int = Field(default=7, ge=0, le=2**32 - 1)


class StoreSettings(BaseModel):
    model_config = _SECTION

    url: str = Field(default_factory=lambda: default_store_url(os.environ))
    """``sqlite:///relative/path`` (relative to the working directory), ``sqlite:////absolute/path`` or
    ``redis://host:port/db``. Default: ``tradewake.sqlite3`` in the per-user data directory
    (``$XDG_DATA_HOME/tradewake``, else ``~/.local/share/tradewake``)."""
    namespace: str = Field(default="tw", pattern=r"^[A-Za-z0-9_.-]{1,32}$")


class AlertSettings(BaseModel):
    model_config = _SECTION

    webhook_url: str | None = None
    """POST every alert as JSON to this URL."""
    telegram_token: SecretStr | None = None
    """Telegram bot token (from @BotFather); alerts are sent only, never read."""
    telegram_chat_id: str | None = None
    """The chat the Telegram bot sends alerts to."""
    min_interval_s: int = Field(default=60, ge=0, le=MAX_DURATION_S)
    """The same alert (dedup key) is sent at most once per interval."""


class BacktestSettings(BaseModel):
    model_config = _SECTION

    data: FilePath | None = None
    """Candle CSV; ``None`` uses the bundled real BTC/USDT data."""
    initial_cash: float = Field(default=10_000.0, ge=1, le=1e12)
    fee_pct: float = Field(default=0.1, ge=0, le=5)
    """Fee per fill in %; Binance charges at most 0.1 %, so 5 % is already far beyond any real venue."""
    slippage_bps: float = Field(default=2.0, ge=0, le=500)
    """Taker slippage in basis points (500 = 5 % of the price on every market order)."""
    seed: int = Field(default=42, ge=0, le=2**32 - 1)
    """Seed of the learner's draws and the rules agent's tie-breaks: same seed, same run."""
    runs_dir: FilePath = Path("runs")
    """Where backtest runs are written and looked up."""


def default_store_url(environ: Mapping[str, str]) -> str:
    """The per-user store: ``sqlite:////home/me/.local/share/tradewake/tradewake.sqlite3``."""
    return f"sqlite:///{user_data_dir(environ) / 'tradewake.sqlite3'}"
