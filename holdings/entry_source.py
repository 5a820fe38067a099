"""Where a managed holding's synthetic entry price comes from: an enum of its own, free of pydantic models, so
``tradewake holdings propose --entry`` can offer its choices without building the proposal models at start-up."""

from __future__ import annotations

from enum import StrEnum


class EntrySource(StrEnum):
    """Where the synthetic entry (the managed position's entry price) comes from."""

    CURRENT = "current"
    COST_BASIS = "cost_basis"
    OPERATOR = "operator"
