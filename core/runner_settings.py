"""The ``runner`` section of the settings: several runners on one account (``docs/runners.md``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

_SECTION = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class RunnerSettings(BaseModel):
    """Several runners on one account (``docs/runners.md``). Unset ``id``: a single runner, nothing shared."""

    model_config = _SECTION

    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    """This runner's id. The runner trades only those of ``exchange.symbols`` whose lease it holds; portfolio
    limits are reserved in the account-wide book. Needs a Redis store and a ``store.namespace`` of its own."""
    account_namespace: str = Field(default="tw-account", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    """Where the runners of one account share their leases, the account-wide book and the request budget."""
    lease_ttl_s: float = Field(default=90.0, ge=1, le=3600)
    """A dead runner's symbols are taken over this long after its last renewal (plus one guard interval).
    Renewed every third of it by the live loop's renewal task (``engine.live_leases``), whatever the guard does;
    a takeover waits for the expiry, so a short ttl hands a dead runner's symbols over sooner."""


def check_runner_store(runner: RunnerSettings, store_url: str, store_namespace: str) -> None:
    """Several runners share one Redis; each keeps its own book in its own namespace."""
    if runner.id is None:
        return
    if not store_url.strip().startswith(("redis://", "rediss://")):
        raise ValueError("runner.id is set: several runners share one Redis, so store.url must be redis://...")
    if store_namespace == runner.account_namespace:
        raise ValueError("runner.account_namespace must differ from store.namespace (each runner's own book)")
