"""The live loop's lease renewal: its own task, so a runner keeps its symbols whatever the guard is doing.

Several runners (``docs/runners.md``): a lease lives ``runner.lease_ttl_s`` on Redis. Renewing it only inside the
guard's lease round tied the lease to the guard's cadence; under load guard passes came seconds apart (a pass
waits for the engine's lock, each of its requests for the exchange) and runners lost leases they were still
entitled to. :class:`LeaseRenewal` renews every third of the ttl on its own, never takes the engine's lock and
never waits for the exchange: a renewal is one small Lua script per symbol on Redis. A renewal that finds its
token superseded drops the symbol at once (``LeaseHolder.renew_held``): the runner neither enters on it nor
passes the fence for it from then on, and the next lease round journals and alerts ``lease_lost`` as for any
other loss. Acquiring stays the round's business (a taken-over symbol walks its stages under the lock).

On stop, :meth:`LeaseRenewal.release` hands the symbols over at once, before the exchange clients close (a
close that hangs must not keep a standby waiting for the ttl).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from core.errors import OperationalError, TemporaryError
from core.ports import Clock, NewEvent, Store
from core.timeframes import datetime_to_ms
from safety.service import LeaseHolder

log = logging.getLogger(__name__)

RENEWALS_PER_TTL = 3
"""A renewal every third of the ttl: two can fail (a Redis hiccup, a busy event loop) before the lease expires."""


@dataclass
class LeaseRenewal:
    holder: LeaseHolder
    clock: Clock
    """The heartbeat's time (the exchange's); the lease's expiry itself is Redis's (wall milliseconds)."""
    store: Store
    """The runner's journal: a renewal Redis refused to answer is journaled (``lease.renew_failed``)."""
    renewals: int = 0
    failures: int = 0

    @property
    def period_s(self) -> float:
        """Wall seconds between two renewals: a third of the lease ttl."""
        return self.holder.ttl_ms / 1000 / RENEWALS_PER_TTL

    async def run(self, closing: asyncio.Event) -> None:
        """Renew every :attr:`period_s` until ``closing`` is set."""
        while not closing.is_set():
            try:
                await asyncio.wait_for(closing.wait(), timeout=self.period_s)
            except TimeoutError:
                self.renew()

    def renew(self) -> None:
        """One renewal of every lease held. Redis unreachable: journaled, tried again next period (the lease
        expires by itself if it stays unreachable, and the next renewal then finds it lost)."""
        now = self.clock.now()
        try:
            lost = self.holder.renew_held(datetime_to_ms(now))
        except (OperationalError, TemporaryError) as exc:
            self.failures += 1
            log.warning("lease renewal failed: %s", exc)
            self.store.append(NewEvent(kind="lease.renew_failed", at=now, payload={"error": str(exc)}))
            return
        self.renewals += 1
        if lost:
            log.warning("lost the lease of %s at renewal: stops trading it", ", ".join(lost))

    def release(self) -> None:
        """Give every symbol back now (a clean stop); a failure is logged, the leases then expire by themselves."""
        try:
            self.holder.release_all()
        except (OperationalError, TemporaryError) as exc:
            log.warning("releasing the leases failed (they expire by themselves): %s", exc)
