"""The exchange layer: the ``Broker`` port's implementations.

- ``exchange.sim``: a deterministic simulated exchange with fault injection (backtest, paper, tests);
- ``exchange.ccxt_broker``: Binance spot and USDT-M futures through ccxt (testnet, demo, mainnet).

Both quantize orders the same way (``exchange.orders``), retry the same way (``exchange.retry``) and
report rejections with the same codes (``core.errors.RejectCode``); ``tests/contracts/test_broker_contract.py``
proves they behave alike.
"""
