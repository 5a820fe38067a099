"""Where settings come from, read strictly: the environment (every TRADEWAKE_* variable must mean something),
the TOML file (syntax and encoding errors are one clear line), the per-user store, and what is redacted."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import pytest

from core.errors import ConfigError
from core.redaction import secret_values
from core.settings import MAINNET_CONFIRM_ENV, RunMode, load_inert_settings, load_settings, redacted
from core.settings_sources import OTHER_ENV_VARS, user_data_dir


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.upper().startswith("TRADEWAKE_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def toml(tmp_path: Path, content: bytes | str) -> Path:
    path = tmp_path / "tw.toml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# ---------------------------------------------------------------- the default store is per user, absolute


def test_default_store_is_absolute_in_the_per_user_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    url = load_settings().store.url
    assert url == f"sqlite:///{tmp_path / 'xdg' / 'tradewake' / 'tradewake.sqlite3'}"
    monkeypatch.chdir(tmp_path / "..")
    assert load_settings().store.url == url, "the same store from any working directory"


def test_data_directory_falls_back_to_home_and_refuses_neither() -> None:
    assert user_data_dir({"HOME": "/home/ann"}) == Path("/home/ann/.local/share/tradewake")
    assert user_data_dir({"HOME": "/home/ann", "XDG_DATA_HOME": "relative"}) == Path("/home/ann/.local/share/tradewake")
    assert user_data_dir({"XDG_DATA_HOME": "/data"}) == Path("/data/tradewake")
    with pytest.raises(ConfigError, match="HOME"):
        user_data_dir({})


# ---------------------------------------------------------------- environment variables


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("TRADEWAKE_RISK__MAX_LEVRAGE", "did you mean MAX_LEVERAGE"),
        ("TRADEWAKE_RISKS__MAX_LEVERAGE", "did you mean RISK"),
        ("TRADEWAKE_NOTHING", "TRADEWAKE_NOTHING"),
        ("TRADEWAKE_RISK__MAX_LEVERAGE__X", "names no setting"),
        ("TRADEWAKE_MODE__X", "names no setting"),
    ],
)
def test_an_environment_variable_that_names_no_setting_is_an_error(
    monkeypatch: pytest.MonkeyPatch, name: str, needle: str
) -> None:
    monkeypatch.setenv(name, "2")
    with pytest.raises(ConfigError, match=name) as caught:
        load_settings()
    assert needle in str(caught.value)


def test_documented_non_setting_variables_are_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTHER_ENV_VARS:
        if name != "TRADEWAKE_CONFIG":
            monkeypatch.setenv(name, "1")
    assert load_settings().mode is RunMode.BACKTEST


def test_a_bad_value_names_the_variable_and_never_echoes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWAKE_LLM__API_KEYY", "sk-ant-do-not-print-me")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "TRADEWAKE_LLM__API_KEYY" in str(caught.value) and "do-not-print-me" not in str(caught.value)


def test_a_section_is_a_json_object_or_one_field_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWAKE_RISK", "garbage")
    with pytest.raises(ConfigError, match="TRADEWAKE_RISK must be a JSON object"):
        load_settings()
    monkeypatch.setenv("TRADEWAKE_RISK", '{"max_leverage": 2, "max_position_pct": 5}')
    monkeypatch.setenv("TRADEWAKE_RISK__MAX_LEVERAGE", "1.5")
    risk = load_settings().risk
    assert risk.max_leverage == 1.5 and risk.max_position_pct == 5, "the field variable wins over the section"


@pytest.mark.parametrize(
    ("value", "symbols"),
    [("BTC/USDT", ("BTC/USDT",)), ("BTC/USDT, ETH/USDT", ("BTC/USDT", "ETH/USDT")), ('["ETH/USDT"]', ("ETH/USDT",))],
)
def test_a_list_from_the_environment_is_json_or_comma_separated(
    monkeypatch: pytest.MonkeyPatch, value: str, symbols: tuple[str, ...]
) -> None:
    monkeypatch.setenv("TRADEWAKE_EXCHANGE__SYMBOLS", value)
    assert load_settings().exchange.symbols == symbols


def test_a_broken_json_list_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWAKE_EXCHANGE__SYMBOLS", '["BTC/USDT"')
    with pytest.raises(ConfigError, match="TRADEWAKE_EXCHANGE__SYMBOLS is not a JSON list"):
        load_settings()


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "NaN", "Infinity"])
def test_infinite_or_nan_limits_are_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TRADEWAKE_RISK__MAX_TOTAL_EXPOSURE_PCT", value)
    with pytest.raises(ConfigError, match=r"risk\.max_total_exposure_pct"):
        load_settings()


def test_absurd_backtest_costs_and_cash_are_refused() -> None:
    for field, value in (("fee_pct", 150), ("slippage_bps", 1e9), ("initial_cash", float("inf")),
                         ("initial_cash", 1e300), ("seed", -1)):
        with pytest.raises(ConfigError, match=f"backtest.{field}"):
            load_settings(backtest={field: value})


def test_durations_are_bounded_so_no_date_overflows() -> None:
    with pytest.raises(ConfigError, match=r"gate\.timer_max_s"):
        load_settings(gate={"timer_max_s": 10**15})


# ---------------------------------------------------------------- the TOML file


def test_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = toml(tmp_path, "[risk]\nmax_leverage = = 2\n")
    with pytest.raises(ConfigError, match=r"tw\.toml is not valid TOML: .*line 2"):
        load_settings(path)


def test_non_utf8_toml_is_one_error(tmp_path: Path) -> None:
    path = toml(tmp_path, b"[risk]\n# caf\xe9\nmax_leverage = 2\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 0xe9 on line 2\)"):
        load_settings(path)


def test_nan_in_toml_is_refused_and_a_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="finite"):
        load_settings(toml(tmp_path, "[risk]\nmax_leverage = nan\n"))
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(tmp_path)


def test_sections_merge_across_file_environment_and_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = toml(tmp_path, "[backtest]\nfee_pct = 0.2\nslippage_bps = 3\n")
    monkeypatch.setenv("TRADEWAKE_BACKTEST__SLIPPAGE_BPS", "4")
    backtest = load_settings(path, backtest={"initial_cash": 500}).backtest
    assert (backtest.fee_pct, backtest.slippage_bps, backtest.initial_cash) == (0.2, 4, 500)


# ---------------------------------------------------------------- mainnet and redaction


def test_commands_that_cannot_trade_load_a_mainnet_config_without_the_confirmation(tmp_path: Path) -> None:
    path = toml(tmp_path, 'mode = "mainnet"\n')
    with pytest.raises(ConfigError, match=MAINNET_CONFIRM_ENV):
        load_settings(path)
    assert load_inert_settings(path).mode is RunMode.MAINNET


def test_webhook_and_credentials_in_the_llm_base_url_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWAKE_ALERTS__WEBHOOK_URL", "https://hooks.example.com/services/T0/B0/hook-token-123")
    monkeypatch.setenv("TRADEWAKE_LLM__BASE_URL", "https://proxy-user:proxy-pass-456@llm.example.com/v1?key=q-789")
    monkeypatch.setenv("TRADEWAKE_ALERTS__TELEGRAM_TOKEN", "tg-token-000")
    shown = redacted(load_settings())
    text = repr(shown)
    for secret in ("hook-token-123", "proxy-user", "proxy-pass-456", "q-789", "tg-token-000"):
        assert secret not in text
    assert shown["alerts"]["webhook_url"] == "https://hooks.example.com/**********"
    assert shown["llm"]["base_url"] == "https://**********@llm.example.com/v1?**********"


def test_secret_values_are_every_secret_the_settings_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWAKE_ALERTS__WEBHOOK_URL", "https://hooks.example.com/services/T0123456/hook-token-123abc")
    monkeypatch.setenv("TRADEWAKE_LLM__BASE_URL", "https://proxy-user:proxy-pass-456@llm.example.com/v1")
    monkeypatch.setenv("TRADEWAKE_STORE__URL", "redis://:store-password-1@127.0.0.1:6379/0")
    monkeypatch.setenv("TRADEWAKE_EXCHANGE__API_SECRET", "exchange-secret-789")
    values = secret_values(load_settings())
    assert set(values) == {"T0123456", "hook-token-123abc", "proxy-user", "proxy-pass-456", "store-password-1",
                           "exchange-secret-789"}, "the path words of the webhook are not secrets"


# ---------------------------------------------------------------- fuzz: any environment, one kind of error

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from core.settings import Settings  # noqa: E402
from tests.robustness.budget import examples  # noqa: E402

_NAMES = st.one_of(
    st.sampled_from([f"TRADEWAKE_{s.upper()}__{f.upper()}" for s, m in Settings.model_fields.items()
                     for f in getattr(m.annotation, "model_fields", {})] + ["TRADEWAKE_MODE", "TRADEWAKE_RISK"]),
    st.from_regex(r"TRADEWAKE_[A-Z_]{1,30}", fullmatch=True),
)
_VALUES = st.one_of(st.sampled_from(["", "0", "-1", "1e400", "nan", "inf", "[", "[1,2]", "{}", '{"x": 1}', "a,b",
                                     "true", "9" * 40, "sqlite:///", "redis://:x@/"]),
                    st.text(max_size=30).filter(lambda t: "\x00" not in t))


@settings(max_examples=examples(default=300), deadline=None)
@given(env=st.dictionaries(_NAMES, _VALUES, max_size=4))
def test_any_environment_loads_or_fails_with_one_config_error(env: dict[str, str]) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("TRADEWAKE_")}
    with mock.patch.dict(os.environ, {**clean, **env}, clear=True):  # the process environment, not a mock
        try:
            load_inert_settings()
        except ConfigError as exc:
            assert "\n" not in str(exc)
