"""Shared fixtures. Package-specific fixtures live next to their tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer

REPO_ROOT = Path(__file__).resolve().parent.parent
# CI clones the repo beside ../shared; TRADEWAKE_SHARED_DATA points elsewhere when needed.
SHARED_DATA = Path(os.environ.get("TRADEWAKE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"
LONG_TESTS = os.environ.get("TRADEWAKE_LONG_TESTS") == "1"


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
