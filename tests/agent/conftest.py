from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.settings import LLMSettings
from engine.static_gate import gate_schedule_check
from tests.agent.messages_server import MessagesServer
from tests.tools.helpers import make_snapshot
from tools.context import ListJournal
from tools.static_desk import StaticDesk


@pytest.fixture
def server() -> Iterator[MessagesServer]:
    srv = MessagesServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def desk() -> StaticDesk:
    return StaticDesk(snapshots={"BTC/USDT": make_snapshot()}, schedule_check=gate_schedule_check)


@pytest.fixture
def journal() -> ListJournal:
    return ListJournal()


def llm_settings(server: MessagesServer, **overrides: object) -> LLMSettings:
    values: dict[str, object] = {
        "backend": "anthropic",
        "api_key": "sk-ant-test-not-a-real-key-000000",
        "base_url": server.base_url,
        "max_retries": 0,
        "timeout_s": 10.0,
    }
    values.update(overrides)
    return LLMSettings.model_validate(values)
