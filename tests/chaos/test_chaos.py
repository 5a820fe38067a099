"""Kill -9 chaos (issue 17, item 4): real ``tradewake run --mode testnet`` processes against a real venue process,
SIGKILLed at aimed points and restarted; the invariants come from the venue's own ledger (``tests/chaos/harness.py``).

``make test`` runs 20 kills with the rules agent (a restart protects within about 2 s of the process start, see
``docs/performance.md``, "Restart: protected first"); ``make test-long`` (``TRADEWAKE_LONG_TESTS=1``) adds 100 kills
and a short run with the anthropic backend against the local Messages server. Each prints its figures (``pytest -s``
shows them; the assertion message carries them on failure).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.harness import Chaos, Figures
from tests.chaos.trader_llm import TradingMessages
from tests.conftest import LONG_TESTS

UNPROTECTED_TARGET_S = 5.0
"""Target: no position without a live stop longer than this after a restart, counted from the process start
(imports, settings, store, the exchange's markets and reconciliation included: ``engine/startup.py``)."""


def assert_invariants(figures: Figures, kills: int) -> None:
    report = figures.summary("chaos")
    print("\n" + report)
    assert not figures.crashes, "\n\n".join(figures.crashes)
    assert sum(figures.kills.values()) == kills, report
    assert figures.duplicate_orders == 0 and figures.duplicate_fills == 0, report
    assert figures.open_at_end_unprotected == 0, report
    assert max(figures.unprotected_from_start_s, default=0.0) <= UNPROTECTED_TARGET_S, report
    assert figures.venue_closes == figures.bot_closes == figures.learned, report
    assert figures.learner_double_counts == 0, report
    assert figures.journal_verified, report


@pytest.mark.timeout(1200)
def test_twenty_kills_with_the_rules_agent(tmp_path: Path) -> None:
    figures = Chaos(tmp_path, seed=1).run(kills=20)
    assert_invariants(figures, 20)
    assert figures.orders > 0, figures.summary("chaos")  # the bot traded: the kills had something to break


@pytest.mark.timeout(5400)
@pytest.mark.skipif(not LONG_TESTS, reason="100 kills take a while: make test-long (TRADEWAKE_LONG_TESTS=1)")
def test_a_hundred_kills_with_the_rules_agent(tmp_path: Path) -> None:
    figures = Chaos(tmp_path, seed=2).run(kills=100)
    assert_invariants(figures, 100)


@pytest.mark.timeout(900)
@pytest.mark.skipif(not LONG_TESTS, reason="about 3.5 minutes of the make-test budget: make test-long")
def test_kills_with_the_anthropic_backend_against_the_local_messages_server(tmp_path: Path) -> None:
    chaos = Chaos(tmp_path, seed=3)
    server = TradingMessages(chaos.venue).start()
    chaos.bot.env.update(
        {
            "TRADEWAKE_LLM__BACKEND": "anthropic",
            "TRADEWAKE_LLM__API_KEY": "sk-ant-test-not-a-real-key-000000",
            "TRADEWAKE_LLM__BASE_URL": server.base_url,
            "TRADEWAKE_LLM__MAX_RETRIES": "0",
            "TRADEWAKE_LLM__TIMEOUT_S": "10",
            "TRADEWAKE_LLM__MAX_WAKES_PER_HOUR": "100000",
            "TRADEWAKE_LLM__MAX_WAKES_PER_DAY": "100000",
        }
    )
    try:
        figures = chaos.run(kills=5)
    finally:
        server.stop()
    assert_invariants(figures, 5)
    assert server.message_requests() and server.orders_placed > 0, figures.summary("chaos (anthropic)")
