"""Store URL parsing, and ``open_store`` opening the backend the URL names."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import StoreSettings
from store.factory import RedisTarget, SqliteTarget, describe_store, open_store, parse_store_url, store_exists
from store.redis_store import RedisStore
from store.sqlite_store import SqliteStore
from tests.redis_server import RedisServer


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///var/tradewake.sqlite3", Path("var/tradewake.sqlite3")),
        ("sqlite:///state.db", Path("state.db")),
        ("sqlite:////srv/tw/state.db", Path("/srv/tw/state.db")),
        ("  sqlite:///var/x.db  ", Path("var/x.db")),
    ],
)
def test_sqlite_urls(url: str, path: Path) -> None:
    assert parse_store_url(url) == SqliteTarget(path)


@pytest.mark.parametrize(
    ("url", "host", "port", "db"),
    [
        ("redis://127.0.0.1:6380/2", "127.0.0.1", 6380, 2),
        ("redis://cache.internal/0", "cache.internal", 6379, 0),
        ("redis://localhost:6379", "localhost", 6379, 0),
        ("redis://:s3cret@localhost:6379/1", "localhost", 6379, 1),
        ("rediss://user:pw@redis.example:6390/3", "redis.example", 6390, 3),
    ],
)
def test_redis_urls(url: str, host: str, port: int, db: int) -> None:
    target = parse_store_url(url)
    assert isinstance(target, RedisTarget)
    assert (target.host, target.port, target.db, target.url) == (host, port, db, url)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("postgres://localhost/tw", "unknown scheme"),
        ("var/tradewake.sqlite3", "unknown scheme"),
        ("", "unknown scheme"),
        ("sqlite://host/var/x.db", "no host"),
        ("sqlite:///", "needs a file path"),
        ("sqlite:////", "needs a file path"),
        ("sqlite:///var/", "needs a file path"),
        ("sqlite:///:memory:", "needs a file path"),
        ("sqlite:///x\x00.db", "NUL"),
        ("sqlite:///x.db?mode=ro", "query strings"),
        ("redis:///0", "needs a host"),
        ("redis://localhost:6379/zero", "must be a number"),
        ("redis://localhost:notaport/0", "Port"),
        ("redis://localhost:6379/0#frag", "fragments"),
    ],
)
def test_bad_urls_are_config_errors_that_name_the_accepted_forms(url: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as caught:
        parse_store_url(url)
    assert "sqlite:///relative/path" in str(caught.value)


def test_a_password_never_appears_in_the_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_store_url("redis://admin:hunter2@localhost:6379/zero")
    assert "hunter2" not in str(caught.value)
    assert "admin:***@localhost" in str(caught.value)


def test_open_store_makes_the_default_sqlite_file_in_the_per_user_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    store = open_store(StoreSettings())
    try:
        assert isinstance(store, SqliteStore)
        assert store.put("a", {"n": 1}) == 1
    finally:
        store.close()
    assert (tmp_path / "data" / "tradewake" / "tradewake.sqlite3").is_file()
    assert not (tmp_path / "var").exists(), "nothing is created in the working directory"


def test_a_read_only_open_never_creates_a_store(tmp_path: Path) -> None:
    settings = StoreSettings(url=f"sqlite:///{tmp_path / 'nope' / 'tw.sqlite3'}")
    assert not store_exists(settings)
    with pytest.raises(ConfigError, match="no store at"):
        open_store(settings, create=False)
    assert not (tmp_path / "nope").exists()
    with pytest.raises(ConfigError, match="is a directory"):
        open_store(StoreSettings(url=f"sqlite:///{tmp_path}"), create=False)


def test_describe_store_names_the_absolute_file_and_hides_a_redis_password(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert describe_store(StoreSettings(url="sqlite:///var/x.db")) == f"{tmp_path / 'var' / 'x.db'} (namespace tw)"
    shown = describe_store(StoreSettings(url="redis://:hunter2@127.0.0.1:6379/0", namespace="live"))
    assert "hunter2" not in shown and shown.endswith("(namespace live)")


def test_open_store_connects_to_redis(redis_server: RedisServer) -> None:
    store = open_store(StoreSettings(url=redis_server.url, namespace="factory"))
    try:
        assert isinstance(store, RedisStore)
        assert store.keys() == store.keys("")
    finally:
        store.close()


def test_a_bad_namespace_is_refused_by_the_store_itself(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="namespace"):
        SqliteStore(tmp_path / "x.db", namespace="has space")
