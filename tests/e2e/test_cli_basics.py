import json
from pathlib import Path

from tests.e2e.cli_helpers import run_cli


def test_help_lists_commands(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for command in ("config", "journal", "version"):
        assert command in result.stdout


def test_every_group_has_help(tmp_path: Path) -> None:
    for group in (("config", "show"), ("journal", "tail"), ("journal", "verify")):
        result = run_cli(*group, "--help", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Usage" in result.stdout


def test_version(tmp_path: Path) -> None:
    result = run_cli("version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip()


def test_config_show_redacts_secrets_and_shows_env(tmp_path: Path) -> None:
    env = {"TRADEWAKE_EXCHANGE__API_SECRET": "s3cr3t-value", "TRADEWAKE_RISK__MAX_LEVERAGE": "2"}
    result = run_cli("config", "show", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "s3cr3t-value" not in result.stdout + result.stderr
    shown = json.loads(result.stdout)
    assert shown["risk"]["max_leverage"] == 2.0
    assert shown["exchange"]["api_secret"] == "**********"


def test_bad_config_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "tradewake.toml").write_text("[risk]\nmax_levrage = 2\n")
    result = run_cli("config", "show", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "risk.max_levrage" in lines[0]


def test_mainnet_without_confirmation_refuses_to_run_but_config_show_reads_it(tmp_path: Path) -> None:
    result = run_cli("run", "--candles", "1", cwd=tmp_path, env={"TRADEWAKE_MODE": "mainnet"})
    assert result.returncode == 2
    assert "TRADEWAKE_MAINNET_CONFIRM" in result.stderr and "Traceback" not in result.stderr
    shown = run_cli("config", "show", cwd=tmp_path, env={"TRADEWAKE_MODE": "mainnet"})
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["mode"] == "mainnet"


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("frobnicate", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
