import pytest

from exchange.symbols import SymbolError, exchange_id, is_futures_symbol, normalize_symbol


@pytest.mark.parametrize(
    "raw",
    ["BTC/USDT", "btc/usdt", "BTCUSDT", "btcusdt", "btc-usdt", "BTC_USDT", " BTC/USDT ", "Btc-Usdt"],
)
def test_spellings_of_spot_btc_usdt(raw: str) -> None:
    assert normalize_symbol(raw, "spot") == "BTC/USDT"


@pytest.mark.parametrize(
    "raw",
    ["BTC/USDT:USDT", "BTC/USDT", "BTCUSDT", "btc-usdt", "BTC-USDT-USDT", "btc_usdt_usdt", "btc/usdt:usdt"],
)
def test_spellings_of_the_usdt_perpetual(raw: str) -> None:
    assert normalize_symbol(raw, "future") == "BTC/USDT:USDT"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("ETHBTC", "ETH/BTC"), ("BTCFDUSD", "BTC/FDUSD"), ("SOLUSDC", "SOL/USDC"), ("1000PEPEUSDT", "1000PEPE/USDT")],
)
def test_glued_symbols_split_at_the_longest_known_quote(raw: str, expected: str) -> None:
    assert normalize_symbol(raw, "spot") == expected


def test_a_futures_symbol_is_not_spot() -> None:
    with pytest.raises(SymbolError, match="futures market"):
        normalize_symbol("BTC/USDT:USDT", "spot")


def test_only_linear_futures() -> None:
    with pytest.raises(SymbolError, match="linear"):
        normalize_symbol("BTC/USD:BTC", "future")


@pytest.mark.parametrize("raw", ["", "BTC", "XYZABC", "BTC/BTC", "BTC//USDT/X/Y", "BT C/USDT", "BTC/US$T"])
def test_unreadable_symbols_are_refused(raw: str) -> None:
    with pytest.raises(SymbolError):
        normalize_symbol(raw, "spot")


def test_exchange_id_and_market_kind() -> None:
    assert exchange_id(normalize_symbol("btc-usdt", "spot")) == "BTCUSDT"
    assert exchange_id(normalize_symbol("btc-usdt", "future")) == "BTCUSDT"
    assert is_futures_symbol("BTC/USDT:USDT") and not is_futures_symbol("BTC/USDT")
