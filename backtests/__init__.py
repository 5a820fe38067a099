"""The backtest driver over the one ``Engine``, its metrics and reports."""
