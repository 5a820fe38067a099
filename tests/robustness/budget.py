"""How much fuzzing a run affords: a small budget in ``make test``, the full one in ``make test-long``."""

from __future__ import annotations

from tests.conftest import LONG_TESTS


def examples(default: int, long: int = 10_000) -> int:
    """Hypothesis ``max_examples`` for a fuzz test."""
    return long if LONG_TESTS else default
