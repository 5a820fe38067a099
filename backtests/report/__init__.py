"""A run's report: the files a backtest writes for people, and the one set of templates that renders a run.

``files`` writes and reads ``trades.csv`` (closed trades and the positions left open) and ``bars.csv``
(close and equity per bar); ``plots`` draws the PNG charts; ``journal`` reads what the run's store
recorded (decisions, stop levels, vetoes, memory, learner); ``view`` assembles all of it into a
``RunView``; ``render`` turns a ``RunView`` into HTML with the templates in ``templates/`` — the
self-contained ``report.html`` here, and the run page of ``tradewake dashboard``.
"""
