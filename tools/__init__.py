"""Typed tools the agent calls: one input model, one result model and one handler per tool.

Every call, from every backend, goes through :class:`tools.executor.ToolExecutor` (validate ->
veto for side effects -> journal -> handler). The desk the handlers act on is the
:class:`tools.context.TradingDesk` protocol; the engine implements it (``engine.desk.EngineDesk``)
over the safety service, live, in backtests and for ``tradewake decide``.
"""
