"""Thompson-sampling learner: per-signal Beta posteriors, global and per regime, learned exactly once per trade.

Public API (import from the modules; this package module stays light so the CLI starts fast):

- ``learning.service.Learner.open(store, settings.learner, clock)`` -> ``Learner``
- ``Learner.record_trade(trade)`` -> ``learning.state.RecordResult`` (``outcome``: recorded | duplicate)
- ``Learner.weights(regime, rng)`` -> ``learning.weights.LearnerWeights``: embed with
  ``model_dump(mode="json")``; the rule-based fallback uses ``score(signals)`` / ``ranked()``
- ``Learner.has_enough_data(regime)``, ``Learner.posteriors(regime)``, ``Learner.regime_trades()``,
  ``Learner.is_recorded(position_id)``, ``Learner.refresh()``
- the pure core for simulations and tests: ``learning.state.apply_trade`` / ``replay`` /
  ``LearnerState``, ``learning.weights.compute_weights`` / ``posteriors`` / ``has_enough_data``.
"""
