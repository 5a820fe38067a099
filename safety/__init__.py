"""The deterministic safety layer between the agent and the exchange.

Pure decision modules (``veto``, ``guard``, ``breakers``, ``controls``) take every input as an
argument, ``now`` included, and return values; the thin I/O parts (``gateway``, ``executor``,
``entries``, ``sweep``, ``requests``, ``reconcile``, ``commands``, ``keeper``, ``alerts``) perform
those decisions through the ``Broker``, ``Store`` and ``Notifier`` ports. ``service.SafetyService``
wires them and is the one object the rest of the system talks to. Nothing here imports ``agent/``.
"""
