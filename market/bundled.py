"""Real candle files shipped with the package (see ``market/data/README.md`` for provenance)."""

from __future__ import annotations

from contextlib import ExitStack
from importlib import resources
from pathlib import Path

from core.errors import ConfigError

BTC_1H = "binance_BTC-USDT_1h.csv.gz"
BTC_5M = "binance_BTC-USDT_5m.csv.gz"

_KEEP_OPEN = ExitStack()


def bundled_names() -> list[str]:
    return sorted(p.name for p in resources.files("market.data").iterdir() if p.name.endswith((".csv", ".csv.gz")))


def bundled_path(name: str) -> Path:
    """A filesystem path to the bundled file ``name`` (extracted once if the package is zipped)."""
    resource = resources.files("market.data").joinpath(name)
    if not resource.is_file():
        raise ConfigError(f"no bundled data file {name!r}; available: {', '.join(bundled_names())}")
    return _KEEP_OPEN.enter_context(resources.as_file(resource))


def resolve_data_path(value: str | Path) -> Path:
    """An existing path as is, else a bundled file name (so ``--data binance_BTC-USDT_5m.csv.gz`` works)."""
    path = Path(value)
    if path.is_file():
        return path
    if path.name == str(value) and str(value) in bundled_names():
        return bundled_path(str(value))
    raise ConfigError(f"data file not found: {value} (bundled files: {', '.join(bundled_names())})")
