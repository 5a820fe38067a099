"""The exchange layer: the ``Broker`` port's implementations.

- ``exchange.sim``: a deterministic simulated exchange with fault injection (backtest, paper, tests);
- ``exchange.ccxt_broker``: Binance spot and USDT-M futures through ccxt (testnet, demo, mainnet). Every
  request goes through ``exchange.ccxt_calls`` (clock offset, the shared request budget of
  ``core.request_budget``, bans, errors translated once); orders of every Binance type are read by
  ``exchange.binance_orders`` (foreign ones marked); account settings are in ``exchange.ccxt_account``.

Both quantize orders the same way (``exchange.orders``), retry the same way (``exchange.retry``) and
report rejections with the same codes (``core.errors.RejectCode``); ``tests/contracts/test_broker_contract.py``
proves they behave alike. ``exchange.liquidation`` is pure: safety imports it for the liquidation check.
"""
