"""Shared fixtures. Package-specific fixtures live next to their tests."""

from __future__ import annotations

import atexit as _atexit
import ipaddress as _ipaddress
import os
import shutil as _shutil
import socket as _socket
import tempfile as _tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer

REPO_ROOT = Path(__file__).resolve().parent.parent
# CI clones the repo beside ../shared; TRADEWAKE_SHARED_DATA points elsewhere when needed.
SHARED_DATA = Path(os.environ.get("TRADEWAKE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"
LONG_TESTS = os.environ.get("TRADEWAKE_LONG_TESTS") == "1"


# ---------------------------------------------------------------- never the real per-user data directory
# The default store lives in $XDG_DATA_HOME/tradewake: point it at a temporary directory for the whole
# session (subprocesses inherit it) and at a fresh one for every test, so no test writes into the real
# home and no test sees another's store.

_SESSION_DATA_HOME = _tempfile.mkdtemp(prefix="tradewake-test-data-")
os.environ["XDG_DATA_HOME"] = _SESSION_DATA_HOME
_atexit.register(_shutil.rmtree, _SESSION_DATA_HOME, True)


@pytest.fixture(autouse=True)
def _private_data_home(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data-home")))


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real ``redis-server`` for the session, on a free loopback port; tests isolate by namespace.

    Fails (never skips) when ``redis-server`` is missing, saying how to install it.
    """
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.kill()


# ---------------------------------------------------------------- no real model call from a test (STYLE 12)
# Both SDKs honour ANTHROPIC_BASE_URL: point it at a closed loopback port and drop every credential,
# so a client built without an explicit base_url fails fast instead of reaching the real API. As a
# second net, any socket connect to a non-loopback address raises (tests need no network).

_CLOSED_PORT_URL = "http://127.0.0.1:9"
os.environ["ANTHROPIC_BASE_URL"] = _CLOSED_PORT_URL
for _var in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"):
    os.environ.pop(_var, None)


def _is_loopback(address: object) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # unix sockets and the like
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return _ipaddress.ip_address(host.split("%", maxsplit=1)[0]).is_loopback
    except ValueError:
        return False


_real_connect = _socket.socket.connect
_real_connect_ex = _socket.socket.connect_ex


def _guarded_connect(self: _socket.socket, address: object) -> None:
    if self.family in (_socket.AF_INET, _socket.AF_INET6) and not _is_loopback(address):
        raise ConnectionRefusedError(f"tests must not reach the network (tried {address!r})")
    _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: _socket.socket, address: object) -> int:
    if self.family in (_socket.AF_INET, _socket.AF_INET6) and not _is_loopback(address):
        raise ConnectionRefusedError(f"tests must not reach the network (tried {address!r})")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


_socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
_socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
