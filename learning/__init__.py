"""Thompson-sampling learner: per-signal Beta posteriors, global and per regime, learned exactly once per trade.

Public API:
- ``Learner.open(store, settings.learner, clock)`` -> ``Learner``
- ``Learner.record_trade(trade)`` -> ``RecordResult`` (``outcome`` recorded | duplicate)
- ``Learner.weights(regime, rng)`` -> ``LearnerWeights`` (embed with ``model_dump(mode="json")``;
  the rule-based fallback uses ``score``/``ranked``)
- ``Learner.has_enough_data(regime)``, ``Learner.posteriors(regime)``, ``Learner.regime_trades()``
- the pure core (``apply_trade``, ``compute_weights``, ``LearnerState``) for simulations and tests.
"""

from learning.evidence import ScopeState, SignalEvidence
from learning.service import LEARNER_UPDATE_EVENT, Learner
from learning.state import LearnerState, LedgerEntry, RecordOutcome, RecordResult, apply_trade, replay
from learning.weights import (
    CREDIBLE_LEVEL,
    GLOBAL_SCOPE,
    LearnerWeights,
    SignalPosterior,
    SignalWeight,
    compute_weights,
    has_enough_data,
    posteriors,
)

__all__ = [
    "CREDIBLE_LEVEL",
    "GLOBAL_SCOPE",
    "LEARNER_UPDATE_EVENT",
    "Learner",
    "LearnerState",
    "LearnerWeights",
    "LedgerEntry",
    "RecordOutcome",
    "RecordResult",
    "ScopeState",
    "SignalEvidence",
    "SignalPosterior",
    "SignalWeight",
    "apply_trade",
    "compute_weights",
    "has_enough_data",
    "posteriors",
    "replay",
]
