"""One frozen settings tree for the whole system.

Precedence, highest first:
1. explicit keyword arguments to :func:`load_settings` (what the CLI passes from its flags);
2. environment variables ``TRADEWAKE_<SECTION>__<FIELD>`` (e.g. ``TRADEWAKE_RISK__MAX_LEVERAGE=2``)
   and ``TRADEWAKE_MODE``;
3. the TOML file (``--config FILE``, else ``$TRADEWAKE_CONFIG``, else ``./tradewake.toml`` if present);
4. the defaults of the section models (:mod:`core.settings_sections`).

Every model is ``frozen=True, extra="forbid"`` and refuses ``inf``/``nan``: a typo in a limit fails at
start-up, before any order, and so does an environment variable ``TRADEWAKE_*`` that names no setting
(:mod:`core.settings_sources`). Secrets are ``SecretStr`` and print as ``**********``. The default store
is an absolute path in the per-user data directory, so every command finds the same store wherever it runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core import redaction
from core.errors import ConfigError
from core.runner_settings import RunnerSettings, check_runner_store
from core.settings_sections import (
    AlertSettings,
    BacktestSettings,
    ExchangeSettings,
    GateSettings,
    LearnerSettings,
    LLMSettings,
    RiskSettings,
    RunMode,
    StoreSettings,
    default_store_url,
)
from core.settings_sources import deep_merge, env_name, env_values, read_toml, set_by

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG_FILE",
    "MAINNET_CONFIRM_ENV",
    "MAINNET_CONFIRM_VALUE",
    "AlertSettings",
    "BacktestSettings",
    "ExchangeSettings",
    "GateSettings",
    "LLMSettings",
    "LearnerSettings",
    "RiskSettings",
    "RunMode",
    "Settings",
    "StoreSettings",
    "check_mainnet_confirmation",
    "default_store_url",
    "load_inert_settings",
    "load_settings",
    "redacted",
    "resolve_config_path",
]

MAINNET_CONFIRM_ENV = "TRADEWAKE_MAINNET_CONFIRM"
MAINNET_CONFIRM_VALUE = "I-ACCEPT-REAL-LOSSES"
CONFIG_ENV = "TRADEWAKE_CONFIG"
DEFAULT_CONFIG_FILE = Path("tradewake.toml")


class Settings(BaseModel):
    """The root of the tree. Build it with :func:`load_settings`."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, use_attribute_docstrings=True)

    mode: RunMode = RunMode.BACKTEST
    """backtest (offline replay), paper (live prices, simulated fills), testnet (Binance's test network) or
    mainnet (real money: also needs TRADEWAKE_MAINNET_CONFIRM=I-ACCEPT-REAL-LOSSES in the environment)."""
    exchange: ExchangeSettings = Field(default_factory=ExchangeSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    gate: GateSettings = Field(default_factory=GateSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    learner: LearnerSettings = Field(default_factory=LearnerSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    runner: RunnerSettings = Field(default_factory=RunnerSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    backtest: BacktestSettings = Field(default_factory=BacktestSettings)

    @model_validator(mode="after")
    def _runners_share_redis(self) -> Settings:
        check_runner_store(self.runner, self.store.url, self.store.namespace)
        return self

    @model_validator(mode="after")
    def _leverage_within_the_cap(self) -> Settings:
        cap = self.risk.effective_for(self.mode).max_leverage
        if self.exchange.market_type == "future" and self.exchange.leverage > cap:
            raise ValueError(
                f"exchange.leverage {self.exchange.leverage} is above the {self.mode.value} cap risk.max_leverage "
                f"{cap:g}" + (" (mainnet takes risk.mainnet_max_leverage)" if self.mode is RunMode.MAINNET else "")
            )
        return self


def check_mainnet_confirmation(settings: Settings, environ: Mapping[str, str]) -> None:
    """Mainnet trades real money: only the environment can confirm it (a file cannot)."""
    if settings.mode is RunMode.MAINNET and environ.get(MAINNET_CONFIRM_ENV) != MAINNET_CONFIRM_VALUE:
        raise ConfigError(
            f"mode 'mainnet' trades real money: set {MAINNET_CONFIRM_ENV}={MAINNET_CONFIRM_VALUE} "
            "in the environment to confirm"
        )


def resolve_config_path(explicit: Path | None) -> Path | None:
    """The TOML file to read: explicit, else ``$TRADEWAKE_CONFIG``, else ``./tradewake.toml`` if it exists."""
    if explicit is not None:
        return _toml_file(explicit, f"config file not found: {explicit}")
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return _toml_file(Path(from_env), f"{CONFIG_ENV} points to a missing file: {from_env}")
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def _toml_file(path: Path, missing: str) -> Path:
    if path.is_dir():
        raise ConfigError(f"config file {path} is a directory, not a TOML file")
    if not path.is_file():
        raise ConfigError(missing)
    return path


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings tree (precedence in the module docstring); every problem is one ``ConfigError``.

    Mainnet needs the confirmation variable here; commands that cannot trade use :func:`load_inert_settings`.
    """
    settings = _load(config_file, overrides)
    check_mainnet_confirmation(settings, os.environ)
    return settings


def load_inert_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """:func:`load_settings` for a command that cannot trade (operator commands, inspection, offline tools):
    a mainnet configuration loads without the confirmation variable, so the kill switch always works."""
    return _load(config_file, overrides)


def _load(config_file: Path | None, overrides: Mapping[str, Any]) -> Settings:
    path = resolve_config_path(config_file)
    from_file = read_toml(path) if path is not None else {}
    from_env = env_values(os.environ, Settings)
    given = {key: value.model_dump() if isinstance(value, BaseModel) else value for key, value in overrides.items()}
    try:
        return Settings.model_validate(deep_merge(deep_merge(from_file, from_env), given))
    except ValidationError as exc:
        raise ConfigError(_explain(exc, (given, from_env, from_file), path)) from exc


def _explain(exc: ValidationError, layers: tuple[Mapping[str, Any], ...], path: Path | None) -> str:
    """One line naming each bad setting and where it was set (``mode: Input should be ... (given on the command
    line)``): a config file is named only for what it set, so a wrong flag or variable does not blame it."""
    problems = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"]) or "settings"
        origins = [_origin(index, err["loc"], path) for index in set_by(err["loc"], layers)]
        problems.append(f"{loc}: {err['msg']}" + (f" ({' and '.join(origins)})" if origins else ""))
    return "invalid settings: " + "; ".join(problems)


def _origin(layer: int, loc: tuple[str | int, ...], path: Path | None) -> str:
    """Where the user wrote it: ``layer`` indexes ``(given, from_env, from_file)`` of :func:`_load`."""
    if layer == 0:
        return "given on the command line"
    if layer == 1:
        return f"from {env_name(loc, Settings)}"
    return f"config file {path}"


def redacted(settings: Settings) -> dict[str, Any]:
    """The effective settings for display, every secret masked (:func:`core.redaction.redacted`)."""
    return redaction.redacted(settings)
