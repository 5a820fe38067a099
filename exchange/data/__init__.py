"""Package data: the bundled Binance markets file (see README.md here for its sources)."""
