"""Ctrl-C (or SIGTERM) during a backtest: stop within a second, at a candle boundary when possible.

Why not asyncio's own Ctrl-C handling: it cancels the main task, and a cancellation only lands at an
``await`` that suspends; a replay of candles through rule-based decisions never suspends, so the run
went on to its last candle. Here a plain signal handler sets a flag the progress callback checks after
every candle (every step in the store is then complete). A step still running after
:data:`STOP_GRACE_S` (a regime refit, an LLM call) is stopped where it is: a timer thread re-delivers
the signal, whose handler then raises ``KeyboardInterrupt`` (each store transaction is atomic, so the
store holds whole transactions, and the marker says the last candle was cut short). A second Ctrl-C
does the same at once. The runner needs no change: its progress callback simply raises. A stop at a
candle boundary cancels the timer: the run's close (the gate saved, connections and the store closed) then takes
what it takes, and only a second Ctrl-C cuts it short.
"""

from __future__ import annotations

import _thread
import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, TypeVar

from rich.progress import Progress

from core.errors import TradewakeError

T = TypeVar("T")
STOP_GRACE_S = 0.8
"""How long a step waiting on I/O may take to finish before it is cancelled."""
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(TradewakeError):
    """The user stopped the run; ``where`` says what was kept (set by whoever keeps it). The CLI prints
    this line and exits 130 (``cli_exit_code``)."""

    cli_exit_code = 130

    def __init__(self, done: int, total: int, *, forced: bool = False) -> None:
        super().__init__()
        self.done = done
        self.total = total
        self.forced = forced
        """The candle after ``done`` was cut short (its step did not finish)."""
        self.where = ""

    def __str__(self) -> str:
        total = f"{self.total:,}" if self.total else "?"
        return f"interrupted after {self.done:,} of {total} candles" + (f"; {self.where}" if self.where else "")


class _Stop(Exception):  # a control-flow signal from the progress callback, not an error
    """Raised by the progress callback to leave the replay at a candle boundary."""


@dataclass
class StopSwitch:
    """What the signal handler, the grace timer and the progress callback share."""

    requested: bool = False
    forced: bool = False
    """The stop did not wait for the candle in progress."""
    finished: bool = False
    done: int = 0
    total: int = 0
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _timer: threading.Timer | None = field(default=None, repr=False)

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        del signum, frame
        if self.finished:
            return
        if self.requested:  # a second Ctrl-C, or the grace timer: stop now, whatever is running
            self.forced = True
            raise KeyboardInterrupt
        self.requested = True
        self._timer = threading.Timer(STOP_GRACE_S, self._force)
        self._timer.daemon = True
        self._timer.start()

    def _force(self) -> None:
        """Timer thread: deliver the signal again; wake the event loop if it is waiting, so it is handled."""
        if self.finished:
            return
        _thread.interrupt_main(signal.SIGINT)
        loop = self._loop
        if loop is not None and loop.is_running():
            with contextlib.suppress(RuntimeError):  # the loop closed in between: nothing to wake
                loop.call_soon_threadsafe(lambda: None)

    def finish(self) -> None:
        self.finished = True
        self._cancel_timer()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def progress_to(self, bar: Progress | None) -> Callable[[int, int], None]:
        task = bar.add_task("backtest", total=None) if bar is not None else None

        def progress(done: int, total: int) -> None:
            self.done, self.total = done, total
            if bar is not None and task is not None and (done % 50 == 0 or done == total):
                bar.update(task, completed=done, total=total)
            if self.requested:
                self._cancel_timer()  # stopped at a boundary: closing the run (backtests.runner) is not cut short
                raise _Stop

        return progress


def run_interruptibly(
    start: Callable[[Callable[[int, int], None]], Coroutine[Any, Any, T]], switch: StopSwitch, bar: Progress | None
) -> T:
    """``asyncio.run(start(progress))`` that raises :class:`Interrupted` when the user stops it."""
    previous = {sig: signal.signal(sig, switch.on_signal) for sig in _SIGNALS}
    try:
        with bar if bar is not None else contextlib.nullcontext():
            try:
                return asyncio.run(_main(start, switch, bar))
            finally:
                switch.finish()
    except (_Stop, asyncio.CancelledError, KeyboardInterrupt) as exc:
        if not switch.requested:
            raise
        raise Interrupted(switch.done, switch.total, forced=switch.forced) from exc
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def _main(
    start: Callable[[Callable[[int, int], None]], Coroutine[Any, Any, T]], switch: StopSwitch, bar: Progress | None
) -> T:
    switch._loop = asyncio.get_running_loop()
    if switch.requested:  # stopped before the loop started
        raise _Stop
    return await start(switch.progress_to(bar))
