from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import MAINNET_CONFIRM_ENV, MAINNET_CONFIRM_VALUE, RunMode, load_settings, redacted


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("TRADEWAKE_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tw.toml"
    path.write_text(text)
    return path


def test_defaults_are_backtest() -> None:
    settings = load_settings()
    assert settings.mode is RunMode.BACKTEST
    assert settings.store.url.startswith("sqlite:///")


def test_precedence_explicit_over_env_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_toml(tmp_path, "[risk]\nmax_leverage = 2.5\nmax_position_pct = 10\n")
    assert load_settings(path).risk.max_leverage == 2.5
    monkeypatch.setenv("TRADEWAKE_RISK__MAX_LEVERAGE", "2")
    settings = load_settings(path)
    assert settings.risk.max_leverage == 2.0
    assert settings.risk.max_position_pct == 10  # the file still applies where env is silent
    assert load_settings(path, risk={"max_leverage": 1.5}).risk.max_leverage == 1.5


def test_default_file_and_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tradewake.toml").write_text('mode = "paper"\n')
    assert load_settings().mode is RunMode.PAPER
    other = write_toml(tmp_path, 'mode = "testnet"\n')
    monkeypatch.setenv("TRADEWAKE_CONFIG", str(other))
    assert load_settings().mode is RunMode.TESTNET
    monkeypatch.setenv("TRADEWAKE_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="missing file"):
        load_settings()


def test_typo_fails_with_location(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[risk]\nmax_levrage = 2\n")
    with pytest.raises(ConfigError, match=r"risk\.max_levrage"):
        load_settings(path)


def test_cross_field_rules() -> None:
    with pytest.raises(ConfigError, match="stop_min_distance_pct"):
        load_settings(risk={"stop_min_distance_pct": 5, "stop_max_distance_pct": 1})
    with pytest.raises(ConfigError, match="timer_min_s"):
        load_settings(gate={"timer_min_s": 100, "timer_max_s": 10})


def test_mainnet_needs_env_confirmation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=MAINNET_CONFIRM_ENV):
        load_settings(mode="mainnet")
    monkeypatch.setenv(MAINNET_CONFIRM_ENV, "yes")
    with pytest.raises(ConfigError):
        load_settings(mode="mainnet")
    monkeypatch.setenv(MAINNET_CONFIRM_ENV, MAINNET_CONFIRM_VALUE)
    assert load_settings(mode="mainnet").mode is RunMode.MAINNET


def test_secrets_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWAKE_EXCHANGE__API_KEY", "very-secret-key")
    monkeypatch.setenv("TRADEWAKE_LLM__API_KEY", "sk-ant-secret")
    settings = load_settings()
    assert settings.exchange.api_key is not None
    assert settings.exchange.api_key.get_secret_value() == "very-secret-key"
    text = str(redacted(settings)) + repr(settings) + str(settings)
    assert "very-secret-key" not in text and "sk-ant-secret" not in text


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(Exception, match="frozen"):
        settings.risk.max_leverage = 10  # type: ignore[misc]


def test_mainnet_limits_are_the_stricter_of_both() -> None:
    settings = load_settings(risk={"max_leverage": 5, "mainnet_max_leverage": 2, "max_position_pct": 5})
    live = settings.risk.effective_for(RunMode.MAINNET)
    assert live.max_leverage == 2 and live.max_position_pct == 5
    assert settings.risk.effective_for(RunMode.TESTNET).max_leverage == 5


def test_store_url_password_is_masked() -> None:
    settings = load_settings(store={"url": "redis://user:hunter2@127.0.0.1:6380/0"})
    assert redacted(settings)["store"]["url"] == "redis://user:**********@127.0.0.1:6380/0"
    assert redacted(load_settings())["store"]["url"] == load_settings().store.url


def test_a_wrong_flag_is_not_blamed_on_the_config_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'mode = "paper"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, mode="bogus")
    assert str(caught.value) == (
        "invalid settings: mode: Input should be 'backtest', 'paper', 'testnet' or 'mainnet' (given on the command line)"
    )


def test_each_bad_setting_names_where_it_was_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_toml(tmp_path, 'mode = "bogus"\n[risk]\nmax_leverage = 0\n')
    monkeypatch.setenv("TRADEWAKE_GATE__TIMER_MIN_S", "-1")
    monkeypatch.setenv("TRADEWAKE_LLM__MAX_TURNS", "0")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, llm={"max_turns": 3}, exchange={"symbols": ["BTC/USDT", 7]})
    message = str(caught.value)
    assert f"mode: Input should be 'backtest', 'paper', 'testnet' or 'mainnet' (config file {path})" in message
    assert f"risk.max_leverage: Input should be greater than or equal to 1 (config file {path})" in message
    assert "gate.timer_min_s: Input should be greater than 0 (from TRADEWAKE_GATE__TIMER_MIN_S)" in message
    assert "exchange.symbols.1: Input should be a valid string (given on the command line)" in message
    assert "llm.max_turns" not in message, "the flag overrode the bad variable"


def test_a_cross_field_rule_names_every_source_of_the_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_toml(tmp_path, "[risk]\nstop_min_distance_pct = 5\n")
    monkeypatch.setenv("TRADEWAKE_RISK__STOP_MAX_DISTANCE_PCT", "1")
    with pytest.raises(ConfigError, match=rf"risk: .*stop_min_distance_pct .* \(from TRADEWAKE_RISK\* and config file {path}\)"):
        load_settings(path)
    with pytest.raises(ConfigError, match=r"risk: .*stop_min_distance_pct .* \(given on the command line\)$"):
        load_settings(risk={"stop_min_distance_pct": 5, "stop_max_distance_pct": 1})
