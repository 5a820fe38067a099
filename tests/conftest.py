"""Shared fixtures. Package-specific fixtures live next to their tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
LONG_TESTS = os.environ.get("TRADEWAKE_LONG_TESTS") == "1"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
