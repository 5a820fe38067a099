"""The gate's state in the store: open a gate (restored after a restart, else fresh) and save it with its events.

One state document (``STATE_KEY``) holds everything ``Gate.to_state`` returns: schedule, armed conditions,
baselines, budget windows. The events the gate recorded since the last save go to the journal in the
*same* transaction (``gate_writes``), so a crash can neither lose a journaled wake's state nor journal a
wake twice. The engine may put the gate's write and events into its own larger transaction instead of
calling ``save_gate``.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import ConfigError
from core.ports import Clock, NewEvent, Store, Write
from core.settings import GateSettings, LLMSettings
from gate.budget import BudgetLimits
from gate.gate import Gate

STATE_KEY = "gate/state"


def open_gate(settings: GateSettings, llm: LLMSettings, store: Store, clock: Clock, *, symbols: Sequence[str]) -> Gate:
    """The gate as it was saved in ``store``, or a fresh one started at ``clock.now()``.

    A fresh gate's first timer fires ``timer_max_s`` after start-up; feed it the preloaded history with
    ``Gate.warm_up``. Current settings and budget limits apply to a restored gate. A saved gate that
    watches other symbols than ``symbols`` is refused (``ConfigError``): its baselines and conditions
    belong to a different run.
    """
    limits = BudgetLimits.from_settings(llm)
    doc = store.get(STATE_KEY)
    if doc is None:
        return Gate(settings, limits, symbols=symbols, started_at=clock.now())
    saved = tuple(doc.value.get("symbols", ()))
    if saved != tuple(symbols):
        raise ConfigError(
            f"the saved gate state ({STATE_KEY!r}) watches {', '.join(saved) or 'nothing'}, this run watches "
            f"{', '.join(symbols)}; start from the same symbols, or delete the state to start the gate afresh"
        )
    try:
        return Gate.from_state(doc.value, settings, limits)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"the saved gate state ({STATE_KEY!r}) cannot be restored: {exc}") from exc


def gate_writes(gate: Gate) -> tuple[list[Write], list[NewEvent]]:
    """The state write and the gate's pending journal events, for one ``Store.transact``.

    The saved state holds no pending events (they are in the journal by then). Nothing is drained here:
    once the transaction has committed, call ``gate.drain_events()``; if it fails, the events stay
    pending and go with the next save.
    """
    events = [event.to_new_event() for event in gate.pending_events]
    state = gate.to_state()
    state["pending_events"] = []
    return [Write(key=STATE_KEY, value=state)], events


def save_gate(gate: Gate, store: Store) -> None:
    """Save the gate's state and journal its pending events in one transaction, then drain them."""
    writes, events = gate_writes(gate)
    store.transact(writes, events)
    gate.drain_events()


def journal_gate_events(gate: Gate, store: Store) -> None:
    """Journal the gate's pending events without its state (a backtest saves the state every N steps only)."""
    events = [event.to_new_event() for event in gate.pending_events]
    store.transact([], events)
    gate.drain_events()
