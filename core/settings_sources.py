"""Where settings come from: the TOML file, ``TRADEWAKE_*`` environment variables, and the per-user data
directory the default store lives in.

Read strictly, because a typo in a risk limit must never be ignored:

- the TOML file must be UTF-8 and valid TOML; an error names the file, the line and the column;
- every ``TRADEWAKE_*`` variable must name a setting (``TRADEWAKE_<SECTION>__<FIELD>`` or
  ``TRADEWAKE_MODE``) or be one of the documented non-setting variables in :data:`OTHER_ENV_VARS`;
  an error names the variable (never its value: it may be a secret);
- a list setting from the environment is a JSON list (``["BTC/USDT","ETH/USDT"]``) or comma-separated
  (``BTC/USDT,ETH/USDT``); a whole section may be given as a JSON object (``TRADEWAKE_RISK='{"max_leverage": 2}'``).

Everything here is pure except :func:`read_toml` (reads one file) and :func:`user_data_dir` (reads the
environment it is given).
"""

from __future__ import annotations

import difflib
import json
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from core.errors import ConfigError

ENV_PREFIX = "TRADEWAKE_"
ENV_NESTING = "__"

OTHER_ENV_VARS: Mapping[str, str] = {
    "TRADEWAKE_CONFIG": "the TOML settings file to read",
    "TRADEWAKE_MAINNET_CONFIRM": "confirms mainnet trading (a file cannot)",
    "TRADEWAKE_DEBUG": "1 prints the traceback of an unexpected error (for bug reports)",
    "TRADEWAKE_SHARED_DATA": "tests: where the shared real market data lives",
    "TRADEWAKE_LONG_TESTS": "tests: 1 runs the long variants (make test-long)",
    "TRADEWAKE_SIM_SEED": "tests: seed of the safety simulation schedules",
    "TRADEWAKE_SIM_SCHEDULES": "tests: how many safety simulation schedules to run",
    "TRADEWAKE_UPDATE_GOLDEN": "tests: 1 rewrites the golden backtest values",
    "TRADEWAKE_TOOL_FUZZ_EXAMPLES": "tests: how many examples the tool-call fuzz runs",
    "TRADEWAKE_BENCH_REDIS_URL": "benchmarks: a Redis server for the shared request-budget figures",
    "TRADEWAKE_DASHBOARD_TOKEN": "the dashboard's operator token (else one is generated and printed)",
    "TRADEWAKE_VENUE_API_KEY": "the local venue's API key (tradewake venue serve)",
    "TRADEWAKE_VENUE_API_SECRET": "the local venue's API secret (tradewake venue serve)",
    "TRADEWAKE_CHAOS_KILL_AT_SAVE": "tests: the kill -9 chaos test's hook (engine/chaos.py): die at save N",
}
"""``TRADEWAKE_*`` variables the project uses that are not settings; any other unknown one is an error."""

APP_DIR_NAME = "tradewake"


# ---------------------------------------------------------------- the per-user data directory


def user_data_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME/tradewake``, else ``~/.local/share/tradewake``: absolute, so every command finds the
    same store whatever directory it runs in."""
    xdg = environ.get("XDG_DATA_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / APP_DIR_NAME
    home = environ.get("HOME", "")
    if not home or not Path(home).is_absolute():
        raise ConfigError("cannot find the per-user data directory: set HOME or XDG_DATA_HOME, or set store.url")
    return Path(home) / ".local" / "share" / APP_DIR_NAME


# ---------------------------------------------------------------- TOML


def read_toml(path: Path) -> dict[str, Any]:
    """The file's table; every problem is one ``ConfigError`` naming the file (and line and column)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"config file {path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line})") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


# ---------------------------------------------------------------- environment


def env_values(environ: Mapping[str, str], root: type[BaseModel]) -> dict[str, Any]:
    """The settings the ``TRADEWAKE_*`` variables in ``environ`` set, as a nested dict for ``root``.

    Values stay strings (pydantic converts them in lax mode) except lists, which are split here.
    """
    values: dict[str, Any] = {}
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in OTHER_ENV_VARS:
            continue
        path = upper[len(ENV_PREFIX) :].lower().split(ENV_NESTING)
        _set(values, path, _env_value(name, path, environ[name], root))
    return values


def _env_value(name: str, path: list[str], raw: str, root: type[BaseModel]) -> Any:
    fields = root.model_fields
    head = path[0]
    if head not in fields:
        raise ConfigError(_unknown(name, head, list(fields), "a section or setting"))
    section = _model_of(fields[head].annotation)
    if len(path) == 1:
        return _section_json(name, head, raw) if section is not None else _scalar(name, fields[head].annotation, raw)
    if section is None or len(path) != 2:
        raise ConfigError(f"{name} names no setting: use {ENV_PREFIX}<SECTION>{ENV_NESTING}<FIELD>, "
                          f"e.g. {ENV_PREFIX}RISK{ENV_NESTING}MAX_LEVERAGE")
    field = path[1]
    if field not in section.model_fields:
        raise ConfigError(_unknown(name, field, list(section.model_fields), f"a setting of [{head}]"))
    return _scalar(name, section.model_fields[field].annotation, raw)


def _unknown(name: str, part: str, known: list[str], what: str) -> str:
    close = difflib.get_close_matches(part, known, n=1)
    hint = f" (did you mean {close[0].upper()}?)" if close else f"; known: {', '.join(known)}"
    return f"environment variable {name} names no setting: {part!r} is not {what}{hint}"


def _section_json(name: str, section: str, raw: str) -> dict[str, Any]:
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ConfigError(
            f"{name} must be a JSON object of [{section}] settings, or set one setting: "
            f"{ENV_PREFIX}{section.upper()}{ENV_NESTING}<FIELD>=value"
        )
    return parsed


def _scalar(name: str, annotation: Any, raw: str) -> Any:
    if not _is_sequence(annotation):
        return raw
    text = raw.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{name} is not a JSON list (or a comma-separated list)") from exc
        if not isinstance(parsed, list):
            raise ConfigError(f"{name} is not a JSON list (or a comma-separated list)")
        return parsed
    return [item.strip() for item in text.split(",") if item.strip()]


def _set(values: dict[str, Any], path: list[str], value: Any) -> None:
    node = values
    for part in path[:-1]:
        node = node.setdefault(part, {})  # sections are dicts: a whole-section JSON is checked to be one
    existing = node.get(path[-1])
    node[path[-1]] = deep_merge(existing, value) if isinstance(existing, dict) and isinstance(value, dict) else value


def _model_of(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _is_sequence(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_sequence(arg) for arg in typing.get_args(annotation))
    return origin in (tuple, list, set, frozenset)


# ---------------------------------------------------------------- merging


def deep_merge(base: Any, top: Any) -> Any:
    """``top`` over ``base``; dicts merge key by key (a section given in two places keeps both fields)."""
    if not isinstance(base, dict) or not isinstance(top, dict):
        return top
    merged = dict(base)
    for key, value in top.items():
        merged[key] = deep_merge(merged[key], value) if key in merged else value
    return merged


def set_by(loc: Sequence[str | int], layers: Sequence[Mapping[str, Any]]) -> list[int]:
    """Which of ``layers`` (highest precedence first, as merged) put the value at ``loc`` into the settings.

    A single value comes from the highest layer that holds it (the lower ones were overridden); a section or
    the whole tree (``loc`` of a cross-field rule) from every layer that sets a value in it no higher layer
    overrides. An error then names where the user wrote the bad value, not merely that a config file exists.
    """
    found = [index for index, layer in enumerate(layers) if _at(layer, loc) is not _ABSENT]
    if any(not isinstance(_at(layers[index], loc), Mapping) for index in found):
        return found[:1]
    seen: set[tuple[str, ...]] = set()
    contributing = []
    for index in found:
        leaves = set(_leaves(_at(layers[index], loc)))
        if leaves - seen:
            contributing.append(index)
        seen |= leaves
    return contributing


def _leaves(node: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in node.items():
        if isinstance(value, Mapping):
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key)


_ABSENT = object()


def _at(node: Any, loc: Sequence[str | int]) -> Any:
    """The value at ``loc`` in nested dicts and lists; a scalar met before the end is the value itself."""
    for part in loc:
        if isinstance(node, Mapping):
            if part not in node:
                return _ABSENT
            node = node[part]
        elif isinstance(node, list | tuple) and isinstance(part, int):
            if not 0 <= part < len(node):
                return _ABSENT
            node = node[part]
        else:
            return node
    return node


def env_name(loc: Sequence[str | int], root: type[BaseModel]) -> str:
    """The variable that sets ``loc``: ``TRADEWAKE_MODE``, ``TRADEWAKE_RISK__MAX_LEVERAGE``; a whole section
    (a cross-field rule) ``TRADEWAKE_RISK*``, the whole tree ``TRADEWAKE_*``."""
    if not loc:
        return f"{ENV_PREFIX}*"
    head = str(loc[0])
    field = root.model_fields.get(head)
    if field is None or _model_of(field.annotation) is None:
        return f"{ENV_PREFIX}{head.upper()}"
    if len(loc) == 1:
        return f"{ENV_PREFIX}{head.upper()}*"
    return f"{ENV_PREFIX}{head.upper()}{ENV_NESTING}{str(loc[1]).upper()}"
