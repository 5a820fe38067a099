from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from benchmarks.llmsim import MessagesServer
from core.settings import LLMSettings
from tests.engine_desk import RecordingDesk, engine_desk
from tools.context import ListJournal


@pytest.fixture
def server() -> Iterator[MessagesServer]:
    srv = MessagesServer().start()
    yield srv
    srv.stop()


MakeDesk = Callable[..., Awaitable[RecordingDesk]]


@pytest.fixture
async def make_desk(tmp_path: Path) -> AsyncIterator[MakeDesk]:
    """``await make_desk(name, equity=...)``: a fresh real engine desk (closed after the test)."""
    made: list[RecordingDesk] = []

    async def make(name: str = "desk", equity: float = 10_000.0) -> RecordingDesk:
        made.append(await engine_desk(tmp_path / f"{name}.sqlite3", equity=equity))
        return made[-1]

    yield make
    for desk in made:
        desk.close()


@pytest.fixture
async def desk(make_desk: MakeDesk) -> RecordingDesk:
    return await make_desk()


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
