"""Market data, indicators, the ``MarketSnapshot`` the agent sees, the HMM regime and derivatives.

Public API (what the engine, gate, tools and backtests use):

- candles: :func:`market.candles.read_candles` / :func:`~market.candles.load_candles` (validated
  frame + :class:`~market.candles.CandleReport` with gaps), :func:`market.resample.resample_candles`,
  :func:`market.bundled.bundled_path` for the shipped real BTC data;
- snapshots: :class:`market.builder.SnapshotBuilder` (one per symbol; ``build(as_of, live_price=None)``),
  :class:`market.builder.Market` (``snapshot(symbol, as_of)``), :class:`market.snapshot.MarketSnapshot`
  (``to_prompt()``, ``model_dump(mode="json")``, ``digest()``, ``with_context(...)``);
- regime: :class:`market.regime.RegimeTracker` (``at(as_of)``, ``export_models()`` / ``import_models()``
  for the Store), :func:`market.regime.tracker_from_candles`, :class:`market.hmm.RegimeModel`;
- indicators: :mod:`market.indicators`, per-timeframe frames in :mod:`market.features`;
- derivatives: :class:`market.derivatives.DerivativesHistory`, :class:`~market.derivatives.DerivativesPoller`,
  :func:`~market.derivatives.next_poll_interval`, :func:`~market.derivatives.load_funding_csv`;
- exchange I/O (the only ccxt user): :class:`market.ccxt_rest.CcxtRest`, and
  :func:`market.download.download_candles` for the resumable cache.

This module imports nothing heavy so that ``import market`` stays cheap; import the submodules.
"""
