"""``tradewake init``: the commented settings file, written where asked, never over one without --force."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.e2e.cli_helpers import run_cli


def test_init_writes_a_file_every_command_reads_and_refuses_to_overwrite(tmp_path: Path) -> None:
    written = run_cli("init", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    text = (tmp_path / "tradewake.toml").read_text()
    assert text.startswith("# tradewake settings") and '\n# mode = "backtest"\n' in text
    defaults = json.loads(run_cli("config", "show", cwd=tmp_path).stdout)
    switched_on = re.sub(r"^# ([a-z_]+ = )", r"\1", text, flags=re.MULTILINE)
    (tmp_path / "tradewake.toml").write_text(switched_on)
    assert json.loads(run_cli("config", "show", cwd=tmp_path).stdout) == defaults, "every value is its default"

    again = run_cli("init", cwd=tmp_path)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "--force" in again.stderr
    assert (tmp_path / "tradewake.toml").read_text() == switched_on, "refused means untouched"
    forced = run_cli("init", "--force", cwd=tmp_path)
    assert forced.returncode == 0 and (tmp_path / "tradewake.toml").read_text() == text


def test_init_out_names_the_file_and_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    assert run_cli("init", "--out", "mine.toml", cwd=tmp_path).returncode == 0
    assert (tmp_path / "mine.toml").is_file() and not (tmp_path / "tradewake.toml").exists()
    missing = run_cli("init", "--out", "nowhere/x.toml", cwd=tmp_path)
    assert missing.returncode == 2 and "nowhere does not exist" in missing.stderr and "Traceback" not in missing.stderr
