"""The commented settings file ``tradewake init`` writes is generated from the settings models: every field
is in it, with its default, its description and its limits; uncommented, it loads back to the defaults."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest
from pydantic import BaseModel

from core.settings import Settings
from core.settings_toml import settings_toml, toml_value

KEY_LINE = re.compile(r"^# ([a-z_]+ = .*)$")


def uncommented(text: str) -> dict[str, Any]:
    """The file with every ``# key = value`` line switched on."""
    return tomllib.loads("\n".join(m.group(1) if (m := KEY_LINE.match(line)) else line for line in text.splitlines()))


def leaf_fields() -> list[tuple[str | None, str, Any]]:
    defaults = Settings()
    found: list[tuple[str | None, str, Any]] = []
    for name in Settings.model_fields:
        value = getattr(defaults, name)
        if isinstance(value, BaseModel):
            found += [(name, field, getattr(value, field)) for field in type(value).model_fields]
        else:
            found.append((None, name, value))
    return found


def test_uncommented_it_loads_back_to_exactly_the_defaults() -> None:
    assert Settings.model_validate(uncommented(settings_toml())) == Settings()


def test_as_written_every_setting_is_commented_out() -> None:
    assert tomllib.loads(settings_toml()) == {name: {} for name, value in Settings() if isinstance(value, BaseModel)}


def test_every_setting_is_in_the_file_with_its_description() -> None:
    text = settings_toml()
    for section, name, value in leaf_fields():
        field = (type(getattr(Settings(), section)) if section else Settings).model_fields[name]
        if value is None:
            assert re.search(rf"^#   {name}: ", text, re.MULTILINE), name
        else:
            assert f"\n# {name} = {toml_value(value)}\n" in text, name
        if field.description:
            first_words = " ".join(field.description.split()[:4]).replace("``", "`")
            assert first_words in " ".join(line.removeprefix("# ") for line in text.splitlines()), name


def test_secrets_are_pointed_to_the_environment_not_written() -> None:
    text = settings_toml()
    for variable in ("TRADEWAKE_EXCHANGE__API_KEY", "TRADEWAKE_LLM__API_KEY", "TRADEWAKE_ALERTS__TELEGRAM_TOKEN"):
        assert f"set {variable} in the environment" in text
    assert not re.search(r"^# (api_key|api_secret|telegram_token|oauth_token) =", text, re.MULTILINE)


def test_choices_and_limits_come_from_the_models() -> None:
    text = settings_toml()
    assert '\n# one of: "spot", "future"\n# market_type = "spot"\n' in text
    assert "\n# accepts: at least 0, at most 5\n# fee_pct = 0.1\n" in text


@pytest.mark.parametrize(("value", "shown"), [(True, "true"), (2.5, "2.5"), (("4h", "1d"), '["4h", "1d"]'),
                                              ('say "hi"', '"say \\"hi\\""')])  # fmt: skip
def test_values_are_toml(value: object, shown: str) -> None:
    assert toml_value(value) == shown
    assert tomllib.loads(f"x = {shown}")["x"] == (list(value) if isinstance(value, tuple) else value)
