"""The deterministic safety layer between the agent and the exchange.

Pure decision modules (``veto``, ``guard``, ``breakers``, ``controls``) take every input as an
argument, ``now`` included, and return values; the thin I/O modules (``executor``, ``commands``,
``reconcile``, ``alerts``) perform those decisions through the ``Broker``, ``Store`` and
``Notifier`` ports. Nothing here imports ``agent/``.
"""
