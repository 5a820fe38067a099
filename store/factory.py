"""Open the store a settings URL names.

- ``sqlite:///relative/path`` — a file relative to the working directory
- ``sqlite:////absolute/path`` — an absolute path (the default is one, in the per-user data directory)
- ``redis://[user:password@]host:port/db`` (or ``rediss://`` for TLS) — a Redis server

A URL we cannot read is a ``ConfigError`` that names the accepted forms (with any password redacted).
Commands that only read (``journal``, ``status``, ``decisions live`` ...) open with ``create=False``:
a SQLite file that does not exist is then an error naming it, never a new empty store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from core.errors import ConfigError
from core.ports import Store
from core.settings import StoreSettings
from store.records import redact_url

_FORMS = "sqlite:///relative/path, sqlite:////absolute/path or redis://host:port/db"
_REDIS_SCHEMES = ("redis", "rediss")


@dataclass(frozen=True, slots=True)
class SqliteTarget:
    path: Path


@dataclass(frozen=True, slots=True)
class RedisTarget:
    url: str
    host: str
    port: int
    db: int


def parse_store_url(url: str) -> SqliteTarget | RedisTarget:
    """Pure parsing, so every accepted and refused form is unit-tested without opening anything."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise _bad(url, str(exc)) from exc
    if parts.query or parts.fragment:
        raise _bad(url, "query strings and fragments are not supported")
    if parts.scheme == "sqlite":
        return _sqlite_target(url, parts)
    if parts.scheme in _REDIS_SCHEMES:
        return _redis_target(url, parts, port)
    raise _bad(url, f"unknown scheme {parts.scheme!r}")


def _sqlite_target(url: str, parts: SplitResult) -> SqliteTarget:
    if parts.netloc:
        raise _bad(url, "a sqlite URL has no host: use three slashes (relative) or four (absolute)")
    path = parts.path[1:]  # "/var/x" -> "var/x" (relative); "//abs/x" -> "/abs/x" (absolute)
    if not path or path.endswith("/") or path == ":memory:":
        raise _bad(url, "a sqlite URL needs a file path")
    if "\x00" in path:
        raise _bad(url, "a file path cannot contain a NUL character")
    return SqliteTarget(Path(path))


def _redis_target(url: str, parts: SplitResult, port: int | None) -> RedisTarget:
    if not parts.hostname:
        raise _bad(url, "a redis URL needs a host")
    db_text = parts.path.lstrip("/") or "0"
    if not db_text.isdigit():
        raise _bad(url, f"the redis database must be a number, not {db_text!r}")
    return RedisTarget(url=url.strip(), host=parts.hostname, port=port or 6379, db=int(db_text))


def _bad(url: str, why: str) -> ConfigError:
    return ConfigError(f"bad store URL {redact_url(url)!r}: {why}; expected {_FORMS}")


def describe_store(settings: StoreSettings) -> str:
    """Which store a command used, for its output: the absolute SQLite path, or the redacted Redis URL."""
    target = parse_store_url(settings.url)
    where = str(target.path.absolute()) if isinstance(target, SqliteTarget) else redact_url(target.url)
    return f"{where} (namespace {settings.namespace})"


def store_exists(settings: StoreSettings) -> bool:
    """``False`` only for a SQLite file that is not there (a Redis server is reached when opened)."""
    target = parse_store_url(settings.url)
    return not isinstance(target, SqliteTarget) or target.path.is_file()


def open_store(settings: StoreSettings, *, create: bool = True) -> Store:
    """The configured store, opened (schema created, server pinged). Errors: ``ConfigError``, ``OperationalError``.

    ``create=False`` refuses a SQLite file that does not exist instead of creating an empty store.
    """
    target = parse_store_url(settings.url)
    if isinstance(target, SqliteTarget):
        from store.sqlite_store import SqliteStore

        if target.path.is_dir():
            raise ConfigError(f"store path {target.path} is a directory; store.url must name a file")
        if not create and not target.path.is_file():
            raise ConfigError(
                f"no store at {target.path.absolute()} (nothing has been written with these settings yet; "
                "check store.url or the directory you run in)"
            )
        return SqliteStore(target.path, settings.namespace)
    from store.redis_store import RedisStore

    return RedisStore(target.url, settings.namespace)
