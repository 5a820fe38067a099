"""The agent's book (``core.book.BookView``) as compact, stable text for the decision's first message.

Every line comes from the typed view (``get_portfolio`` returns the same account as JSON), so the message
and the tool can never disagree. Amounts of the quote currency are rounded to cents for reading; prices
and quantities are shown as the exchange holds them. A flat book says so in one line, ``POSITIONS: none``;
while any position is open that line never appears.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from core.book import BookView, DecisionLine, LearnerView
from core.portfolio import AccountView, BreakerView, FillView, PendingEntryView, PortfolioView, PositionView
from core.sides import PositionSide

CENT = Decimal("0.01")


def render_book(book: BookView) -> str:
    portfolio = book.portfolio
    lines = [
        *_account_lines(portfolio),
        *_position_lines(portfolio),
        *_pending_lines(portfolio.pending_entries),
        *_fill_lines(portfolio.recent_fills),
        *_decision_lines(book.recent_decisions),
        *_learner_lines(book.learner),
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- account


def _account_lines(p: PortfolioView) -> list[str]:
    a = p.account
    lines = [
        f"ACCOUNT ({a.quote_asset}, {a.market_type}) as of {_hm(p.as_of)}",
        f"equity {_cash(a.equity)}; free cash {_cash(a.free_cash) if a.free_cash is not None else 'unknown'}; "
        f"exposure {_cash(a.exposure)} = {a.exposure_pct:.1f}% of equity (cap {a.max_total_exposure_pct:g}%; "
        f"one position at most {a.max_position_pct:g}%)" + _leverage(a),
        f"today (UTC): P&L {_signed_cash(a.pnl_today)} (realized {_signed_cash(a.realized_pnl_today)}); daily loss "
        f"used {a.daily_loss_used_pct:.2f}% of {a.daily_loss_limit_pct:g}%; orders {a.orders_today}/"
        f"{a.max_orders_per_day}; closed trades {a.trades_today}/{a.max_trades_per_day}; losses in a row "
        f"{a.consecutive_losses}/{a.max_consecutive_losses}",
        "entries: " + ("allowed" if p.entries_blocked is None else f"BLOCKED: {p.entries_blocked}"),
        "breakers: " + "; ".join(_breaker(b) for b in p.breakers),
        "operator: " + _controls(p),
    ]
    for q in p.markets:
        cooldown = f"re-entry cool-down {q.cooldown_remaining_s} s" if q.cooldown_remaining_s else "no cool-down"
        lines.append(
            f"market {q.symbol}: last {_num(q.last_price)} ({_hm(q.price_at)}); fee per fill taker "
            f"{q.taker_fee_pct:.3f}%, maker {q.maker_fee_pct:.3f}%; {cooldown}"
        )
    return lines


def _leverage(a: AccountView) -> str:
    if a.leverage_in_use is None:
        return "; spot: no leverage"
    return f"; leverage in use {a.leverage_in_use:.2f}x of {a.max_leverage:g}x"


def _breaker(b: BreakerView) -> str:
    until = f" until {_hm(b.until)}" if b.until is not None else ""
    return f"{b.name} {b.state}{until}" + (f" ({b.detail})" if b.state != "closed" else "")


def _controls(p: PortfolioView) -> str:
    c = p.controls
    if c.halted:
        return f"HALTED since {_hm(c.halted_at)} ({c.halt_reason}): exits only"
    if c.sleep_until is not None and c.sleep_until > p.as_of:
        return f"SLEEPING until {_hm(c.sleep_until)} ({c.sleep_reason}): no entries"
    return "running (not halted, not sleeping)"


# ---------------------------------------------------------------- positions


def _position_lines(p: PortfolioView) -> list[str]:
    if not p.positions:
        return ["POSITIONS: none (flat)"]
    lines = [f"POSITIONS ({len(p.positions)}):"]
    for pos in p.positions:
        lines.extend(_position(pos))
    return lines


def _position(pos: PositionView) -> list[str]:
    one_r = abs(pos.entry_price - pos.initial_stop_price)
    stop_state = "live on the exchange" if pos.stop_live else "being placed by the guard"
    head = (
        f"- {pos.id} {pos.symbol} {pos.side.value} {_num(pos.quantity)} @ entry {_num(pos.entry_price)}, "
        f"held {_duration(pos.held_s)} (since {_hm(pos.opened_at)})"
    )
    stop = f"  stop {_num(pos.stop_price)} ({stop_state}; initial {_num(pos.initial_stop_price)}, 1R = {_num(one_r)})"
    if pos.unrealized_pnl is None:
        pnl = "  no price yet: P&L unknown"
    else:
        r = f" = {pos.unrealized_r:+.2f}R" if pos.unrealized_r is not None else ""
        pnl = f"  last {_num(pos.last_price)}: unrealized P&L {_signed_cash(pos.unrealized_pnl)}{r} (before exit fees)"
    return [head, stop, pnl, "  guard next: " + _guard_next(pos)]


def _guard_next(pos: PositionView) -> str:
    steps = []
    if pos.take_profit_price is not None and pos.break_even_price is not None:
        how = "sells at market when the price gets there" if pos.take_profit_kind == "watched" else "order resting"
        steps.append(
            f"take-profit {_num(pos.take_profit_price)} ({how}) closes {pos.take_profit_fraction_pct:g}%, then the "
            f"stop moves to break-even {_num(pos.break_even_price)}"
        )
    elif pos.break_even_done:
        steps.append("take-profit 1 done, stop at break-even")
    else:
        steps.append("no take-profit set")
    if pos.trailing_activation_pct is not None and pos.trailing_distance_pct is not None:
        state = "active" if pos.trailing_active else "not active yet"
        best = f", best {_num(pos.best_price)}" if pos.best_price is not None else ""
        steps.append(
            f"trailing {pos.trailing_distance_pct:g}% behind the best price once +{pos.trailing_activation_pct:g}% "
            f"({state}{best})"
        )
    else:
        steps.append("no trailing stop")
    level = "below" if pos.side is PositionSide.LONG else "above"
    steps.append(f"a price {level} the stop exits")
    return "; ".join(steps)


def _pending_lines(entries: tuple[PendingEntryView, ...]) -> list[str]:
    if not entries:
        return ["PENDING ENTRIES: none"]
    lines = [f"PENDING ENTRIES ({len(entries)}):"]
    for e in entries:
        tp = f", take-profit {_num(e.take_profit_price)}" if e.take_profit_price is not None else ""
        lines.append(
            f"- {e.position_id} {e.symbol} {e.side.value} {_num(e.quantity)} @ {_num(e.entry_price)} "
            f"(notional {_cash(e.notional)}), stop {_num(e.stop_price)}{tp}; sent {_hm(e.submitted_at)}"
        )
    return lines


# ---------------------------------------------------------------- history


def _fill_lines(fills: tuple[FillView, ...]) -> list[str]:
    if not fills:
        return ["RECENT FILLS: none"]
    return ["RECENT FILLS (oldest first):"] + [
        f"- {_hm(f.at)} {f.symbol} {f.action} {f.side.value} {_num(f.quantity)} @ {_num(f.price)} fee {_cash(f.fee)}"
        for f in fills
    ]


def _decision_lines(decisions: tuple[DecisionLine, ...]) -> list[str]:
    if not decisions:
        return ["YOUR LAST DECISIONS: none yet"]
    return ["YOUR LAST DECISIONS (oldest first):"] + [
        f"- {_hm(d.at)} {d.symbol} woken by {d.wake}; did: {d.outcome} [{d.backend}]" for d in decisions
    ]


def _learner_lines(learner: LearnerView | None) -> list[str]:
    if learner is None:
        return []
    scope = learner.scope + (f" (regime {learner.requested_regime} has too few trades)"
                             if learner.requested_regime and learner.scope != learner.requested_regime else "")
    data = "" if learner.enough_data else f"; fewer than {learner.min_trades} trades: mostly the prior"
    values = ", ".join(f"{s.signal.value} {s.mean:.2f} ({s.wins}W/{s.losses}L)" for s in learner.signals)
    return [
        f"LEARNER (scope {scope}, {learner.scope_trades} trades{data}; posterior mean reward, 0.5 = no edge): {values}"
    ]


# ---------------------------------------------------------------- formats


def _num(value: Decimal | None) -> str:
    return "-" if value is None else format(value.normalize() if value == value.to_integral() else value, "f")


def _cash(value: Decimal) -> str:
    return format(value.quantize(CENT), "f")


def _signed_cash(value: Decimal) -> str:
    text = _cash(value)
    return text if text.startswith("-") else "+" + text


def _hm(at: datetime | None) -> str:
    return "-" if at is None else at.strftime("%m-%d %H:%MZ")


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m"
