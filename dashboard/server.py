"""uvicorn, told to end the dashboard's live streams when it stops (Ctrl-C does not wait on an open tab), and
saying when it listens (the URL is printed then, so it is reachable once shown; tests wait on that event)."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType

import uvicorn

from dashboard.app import DashboardConfig, create_app

GRACEFUL_SHUTDOWN_S = 2


class StoppableServer(uvicorn.Server):
    def __init__(
        self, config: uvicorn.Config, stopping: threading.Event, on_listening: Callable[[], None] | None = None
    ) -> None:
        super().__init__(config)
        self.stopping = stopping
        self.listening = threading.Event()
        """Set once the socket accepts connections (never, if binding failed)."""
        self._on_listening = on_listening
        self.interrupted = False
        """Stopped by SIGINT (Ctrl-C). uvicorn re-raises the signal once stopped, which does nothing when the
        process inherited SIGINT ignored (started in the background): the caller exits 130 from this instead."""

    @classmethod
    def for_app(
        cls, dashboard: DashboardConfig, *, host: str, port: int, on_listening: Callable[[], None] | None = None
    ) -> StoppableServer:
        config = uvicorn.Config(create_app(dashboard), host=host, port=port, log_level="warning",
                                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, lifespan="off")  # fmt: skip
        return cls(config, dashboard.stopping, on_listening)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.listening.set()
            if self._on_listening is not None:
                self._on_listening()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.interrupted = self.interrupted or sig == signal.SIGINT
        self.stopping.set()
        super().handle_exit(sig, frame)

    def stop(self) -> None:
        """Stop from another thread (tests): end the streams, then the server."""
        self.stopping.set()
        self.should_exit = True
