"""The README's CLI table is the one the app generates: a command or option added, renamed or re-described
without regenerating it (``python -m engine.cli_table --write README.md``) fails here."""

from __future__ import annotations

import pytest

from engine.cli import main
from engine.cli_table import START, cli_table, readme_table, with_table
from tests.e2e.cli_helpers import REPO_ROOT


def test_the_readme_table_is_the_generated_one() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme_table(readme)
    assert table is not None, f"README.md lost its table markers ({START})"
    assert table == cli_table(), "the README's CLI table is stale: run python -m engine.cli_table --write README.md"


def test_the_table_lists_every_command_and_option_the_help_shows(tmp_path: object) -> None:
    table = cli_table()
    for group, commands in (("runs", ("list", "show", "compare")), ("journal", ("tail", "verify"))):
        for command in commands:
            assert f"`tradewake {group} {command}" in table
    decisions = next(line for line in table.splitlines() if line.startswith("| `tradewake decisions RUN`"))
    for option in ("--last", "--all", "--from", "--to", "--entries", "--details", "--json"):
        assert f"`{option}`" in decisions
    download = next(line for line in table.splitlines() if "tradewake data download" in line)
    assert "`--from`" in download and "--since" not in download, "hidden old spellings stay out of the table"


def test_the_readme_still_starts_with_the_two_command_quickstart() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# tradewake\n\n```bash\nmake demo ")
    assert readme.split("```")[1].splitlines()[2].startswith("make test ")


def test_writing_the_table_replaces_only_what_is_between_the_markers() -> None:
    from engine.cli_table import END

    readme = f"intro\n{START}\nold table\n{END}\nrest\n"
    assert with_table(readme, "| new |") == f"intro\n{START}\n| new |\n{END}\nrest\n"


def test_every_command_in_the_walkthrough_is_a_real_command(capsys: pytest.CaptureFixture[str]) -> None:
    """Each ``tradewake ...`` line of the README's walkthrough names a command whose --help works (in this
    process: a fresh interpreter per command cost a second each, and the start-up is test_cli_startup's)."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    walkthrough = readme.split("## Walkthrough", 1)[1].split("\n## ", 1)[0]
    commands = set()
    for line in walkthrough.splitlines():
        words = line.split("#")[0].split()
        if "tradewake" in words:
            rest = words[words.index("tradewake") + 1 :]
            path = [w for w in rest[:2] if not w.startswith("-") and w.islower() and w.isidentifier()]
            commands.add(tuple(path[:2]) if path and path[0] in GROUPS else tuple(path[:1]))
    assert len(commands) > 10
    for command in sorted(commands):
        with pytest.raises(SystemExit) as exited:
            main([*command, "--help"])
            raise SystemExit(0)
        shown = capsys.readouterr()
        assert not exited.value.code and "Usage" in shown.out, (command, shown.err)


GROUPS = ("runs", "journal", "learner", "data", "exchange", "venue", "config", "holdings")
