"""``tradewake dashboard``: a local web app over the stores the CLI reads.

Live state (positions, controls and breakers, the gate's next wake and armed conditions, LLM spend) from the
configured store, pushed to the page with server-sent events; backtest runs (list, compare, one run with the
same templates as ``report.html``); operator actions (halt, resume, sleep, flatten) through the store's
command queue, only with the dashboard's token. Bound to 127.0.0.1 unless told otherwise.
"""
