"""Binance's error answers, as the venue sends them: ``{"code": -2010, "msg": "..."}`` with an HTTP status.

Codes and messages are Binance's own (spot REST and USDⓈ-M futures REST error code lists), so that
unmodified ccxt raises the same exception classes it raises against Binance. Where the venue refuses
something Binance would accept (an order type it does not simulate), it answers with Binance's code
for that kind of refusal and says in the message that the local venue is the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from core.errors import RejectCode
from core.money import MarketRules

MarketKind = Literal["spot", "future"]


class BinanceError(Exception):
    """One error answer: HTTP ``status``, Binance ``code`` and ``msg``, optional extra headers."""

    def __init__(self, code: int, msg: str, status: int = 400, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.headers = dict(headers or {})

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


# ---------------------------------------------------------------- requests


def mandatory(name: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def illegal_number(name: str) -> BinanceError:
    return BinanceError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'."
    )


def unsupported(what: str) -> BinanceError:
    """Something Binance offers that the local venue does not simulate (-1020 UNSUPPORTED_OPERATION)."""
    return BinanceError(-1020, f"This operation is not supported. ({what}: not simulated by the local venue)")


def invalid_symbol() -> BinanceError:
    return BinanceError(-1121, "Invalid symbol.")


def invalid_interval() -> BinanceError:
    return BinanceError(-1120, "Invalid interval.")


def invalid_order_type(order_type: str, *, simulated: bool = True) -> BinanceError:
    note = "" if simulated else f" ({order_type} is not simulated by the local venue)"
    return BinanceError(-1116, f"Invalid orderType.{note}")


def invalid_time_in_force(value: str) -> BinanceError:
    return BinanceError(-1115, f"Invalid timeInForce. ({value}: the local venue supports GTC and GTX)")


def algo_only() -> BinanceError:
    return BinanceError(
        -4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."
    )


def order_not_found() -> BinanceError:
    return BinanceError(-2013, "Order does not exist.")


def cancel_unknown() -> BinanceError:
    return BinanceError(-2011, "Unknown order sent.")


def bad_leverage(value: str) -> BinanceError:
    return BinanceError(-4028, f"Leverage {value} is not valid")


def no_need_margin_type() -> BinanceError:
    return BinanceError(-4046, "No need to change margin type.")


def no_need_position_side() -> BinanceError:
    return BinanceError(-4059, "No need to change position side.")


def listen_key_unknown() -> BinanceError:
    return BinanceError(-1125, "This listenKey does not exist.")


# ---------------------------------------------------------------- authentication


def key_format() -> BinanceError:
    return BinanceError(-2014, "API-key format invalid.", 401)


def key_rejected() -> BinanceError:
    return BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def bad_signature() -> BinanceError:
    return BinanceError(-1022, "Signature for this request is not valid.")


def outside_recv_window() -> BinanceError:
    return BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def ahead_of_server() -> BinanceError:
    return BinanceError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")


def recv_window_too_large() -> BinanceError:
    return BinanceError(-1131, "recvWindow must be less than 60000")


# ---------------------------------------------------------------- limits and outages


def too_much_weight(limit: int, retry_after_s: int) -> BinanceError:
    return BinanceError(
        -1003,
        f"Too much request weight used; current limit is {limit} request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
        429,
        {"Retry-After": str(retry_after_s)},
    )


def too_many_orders(limit: int, interval: str, retry_after_s: int) -> BinanceError:
    return BinanceError(
        -1015, f"Too many new orders; current limit is {limit} orders per {interval}.", 429,
        {"Retry-After": str(retry_after_s)},
    )


def banned(until_ms: int, retry_after_s: int) -> BinanceError:
    return BinanceError(
        -1003,
        f"Way too much request weight used; IP banned until {until_ms}. "
        "Please use WebSocket Streams for live updates to avoid bans.",
        418,
        {"Retry-After": str(retry_after_s)},
    )


def internal_error(status: int = 503) -> BinanceError:
    return BinanceError(-1001, "Internal error; unable to process your request. Please try again.", status)


# ---------------------------------------------------------------- order rejections


def order_rejection(code: str, market: MarketKind, rules: MarketRules | None, message: str = "") -> BinanceError:
    """Binance's answer for a rejection the simulated exchange (or the venue's filters) reported as ``code``."""
    answers = _FUTURES_REJECTIONS if market == "future" else _SPOT_REJECTIONS
    if code == RejectCode.BELOW_MIN_NOTIONAL:
        if market == "future":
            floor = format(rules.min_notional.normalize(), "f") if rules is not None else "the minimum"
            return BinanceError(
                -4164, f"Order's notional must be no smaller than {floor} (unless you choose reduce only)."
            )
        return BinanceError(-1013, "Filter failure: NOTIONAL")
    if code == RejectCode.UNKNOWN_SYMBOL:
        return invalid_symbol()
    if code in answers:
        number, text = answers[code]
        return BinanceError(number, text)
    return BinanceError(-2010 if market == "spot" else -1000, f"Order rejected: {message or code}")


_SPOT_REJECTIONS: dict[str, tuple[int, str]] = {
    RejectCode.INSUFFICIENT_FUNDS: (-2010, "Account has insufficient balance for requested action."),
    RejectCode.WOULD_IMMEDIATELY_TRIGGER: (-2010, "Stop price would trigger immediately."),
    RejectCode.POST_ONLY_WOULD_TAKE: (-2010, "Order would immediately match and take."),
    RejectCode.DUPLICATE_CLIENT_ORDER_ID: (-2010, "Duplicate order sent."),
    RejectCode.BELOW_MIN_QTY: (-1013, "Filter failure: LOT_SIZE"),
    RejectCode.ABOVE_MAX_QTY: (-1013, "Filter failure: LOT_SIZE"),
    RejectCode.INVALID_QUANTITY: (-1013, "Filter failure: LOT_SIZE"),
    RejectCode.INVALID_PRECISION: (-1013, "Filter failure: LOT_SIZE"),
    RejectCode.INVALID_PRICE: (-1013, "Filter failure: PRICE_FILTER"),
    RejectCode.NO_MARKET_PRICE: (-1013, "Filter failure: NOTIONAL"),
}
_FUTURES_REJECTIONS: dict[str, tuple[int, str]] = {
    RejectCode.INSUFFICIENT_FUNDS: (-2019, "Margin is insufficient."),
    RejectCode.WOULD_IMMEDIATELY_TRIGGER: (-2021, "Order would immediately trigger."),
    RejectCode.POST_ONLY_WOULD_TAKE: (
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected. "
        "The order will not be recorded in the order history",
    ),
    RejectCode.REDUCE_ONLY_REJECTED: (-2022, "ReduceOnly Order is rejected."),
    RejectCode.DUPLICATE_CLIENT_ORDER_ID: (-4116, "ClientOrderId is duplicated."),
    RejectCode.BELOW_MIN_QTY: (-4004, "Quantity less than minimum quantity."),
    RejectCode.ABOVE_MAX_QTY: (-4005, "Quantity greater than max quantity."),
    RejectCode.INVALID_QUANTITY: (-4003, "Quantity less than or equal to zero."),
    RejectCode.INVALID_PRECISION: (-1111, "Precision is over the maximum defined for this asset."),
    RejectCode.INVALID_PRICE: (-4014, "Price not increased by tick size."),
    RejectCode.NO_MARKET_PRICE: (-1000, "An unknown error occured while processing the request."),
}
