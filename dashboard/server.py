"""uvicorn, told to end the dashboard's live streams when it stops (Ctrl-C does not wait on an open tab)."""

from __future__ import annotations

import threading
from types import FrameType

import uvicorn

from dashboard.app import DashboardConfig, create_app

GRACEFUL_SHUTDOWN_S = 2


class StoppableServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, stopping: threading.Event) -> None:
        super().__init__(config)
        self.stopping = stopping

    @classmethod
    def for_app(cls, dashboard: DashboardConfig, *, host: str, port: int) -> StoppableServer:
        config = uvicorn.Config(create_app(dashboard), host=host, port=port, log_level="warning",
                                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, lifespan="off")  # fmt: skip
        return cls(config, dashboard.stopping)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.stopping.set()
        super().handle_exit(sig, frame)

    def stop(self) -> None:
        """Stop from another thread (tests): end the streams, then the server."""
        self.stopping.set()
        self.should_exit = True
