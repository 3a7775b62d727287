"""The regular-session, no-short and pattern-day-trader rules: examples and properties."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.broker.base import Position, Side
from bot.config import RiskConfig
from risk.base import Action, OrderIntent, RiskContext, reduces_exposure
from risk.gate import RiskGate
from risk.no_short import NoShort
from risk.pattern_day_trader import PatternDayTrader
from risk.regular_session import RegularSession


def intent(symbol: str, qty: int, ts: datetime, price: float = 10.0) -> OrderIntent:
    return OrderIntent(
        f"{symbol}-{ts:%Y%m%d%H%M}", symbol, Side.BUY if qty > 0 else Side.SELL, abs(qty), price, ts
    )


def context(positions: dict[str, int] | None = None, equity: float = 100_000.0, pending=None) -> RiskContext:
    held = {s: Position(s, q, 10.0, 10.0) for s, q in (positions or {}).items() if q}
    return RiskContext(equity, equity, held, pending or {})


@pytest.mark.parametrize(
    ("utc", "allowed"),
    [
        ("2024-01-03 14:31", True),  # 09:31 EST: the first 1Min bar's close
        ("2024-01-03 14:30", False),  # 09:30 EST: a pre-market bar's close
        ("2024-01-03 21:00", True),  # 16:00 EST: a daily bar's close
        ("2024-01-03 21:01", False),  # after the close
        ("2024-07-03 13:31", True),  # 09:31 EDT (daylight saving)
        ("2024-01-03 13:31", False),  # the same UTC time in winter is 08:31 EST
        ("2024-01-06 15:00", False),  # a Saturday
    ],
)
def test_entries_only_in_the_regular_session(utc, allowed):
    ts = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    verdict = RegularSession(extended_hours=False).check(intent("A", 10, ts), context())
    assert (verdict.action is Action.ALLOW) is allowed
    assert RegularSession(extended_hours=True).check(intent("A", 10, ts), context()).action is Action.ALLOW


def test_exits_pass_outside_the_session():
    night = datetime(2024, 1, 3, 23, 0, tzinfo=UTC)
    assert RegularSession(False).check(intent("A", -5, night), context({"A": 5})).action is Action.ALLOW


def test_no_short_cuts_a_sell_to_what_is_held_and_counts_pending_sells():
    now = datetime(2024, 1, 3, 21, tzinfo=UTC)
    rule = NoShort(allow_short=False)
    cut = rule.check(intent("A", -10, now), context({"A": 5}))
    assert cut.action is Action.REDUCE and cut.qty == 5
    cut = rule.check(intent("A", -5, now), context({"A": 5}, pending={"A": -3}))
    assert cut.action is Action.REDUCE and cut.qty == 2
    assert rule.check(intent("A", -1, now), context({})).action is Action.DENY
    assert rule.check(intent("A", -5, now), context({"A": 5})).action is Action.ALLOW
    assert NoShort(allow_short=True).check(intent("A", -10, now), context({})).action is Action.ALLOW


def _pass(rule: PatternDayTrader, order: OrderIntent, ctx: RiskContext) -> bool:
    verdict = rule.check(order, ctx)
    if verdict.action is Action.ALLOW:
        rule.on_pass(order, ctx)
        return True
    return False


def test_the_pdt_guard_blocks_the_entry_that_could_make_a_fourth_day_trade():
    rule = PatternDayTrader(enabled=True)
    monday = datetime(2024, 1, 8, 15, tzinfo=UTC)
    held: dict[str, int] = {}
    for k, symbol in enumerate("ABC"):  # three round trips on Monday: three day trades
        t = monday + timedelta(minutes=10 * k)
        assert _pass(rule, intent(symbol, 10, t), context(held, equity=20_000))
        held[symbol] = 10
        assert _pass(rule, intent(symbol, -10, t + timedelta(minutes=5)), context(held, equity=20_000))
        held[symbol] = 0
    blocked = rule.check(intent("D", 10, monday + timedelta(hours=1)), context(held, equity=20_000))
    assert blocked.action is Action.DENY and "4th day trade" in blocked.reason
    # above $25,000 the rule does not apply; exits always pass
    assert (
        rule.check(intent("D", 10, monday + timedelta(hours=1)), context(held, equity=30_000)).action
        is Action.ALLOW
    )
    assert (
        rule.check(intent("Z", -1, monday + timedelta(hours=1)), context({"Z": 1}, equity=20_000)).action
        is Action.ALLOW
    )
    # five business days later (next Monday) the window has moved on
    assert (
        rule.check(intent("D", 10, monday + timedelta(days=7)), context(held, equity=20_000)).action
        is Action.ALLOW
    )
    assert (
        PatternDayTrader(enabled=False).check(intent("D", 10, monday), context(equity=1_000)).action
        is Action.ALLOW
    )


trips = st.lists(
    st.tuples(
        st.integers(0, 9),
        st.integers(0, 300),
        st.sampled_from("ABC"),
        st.integers(1, 20),
        st.integers(-25, 25),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(trips)
def test_under_25k_no_window_of_five_business_days_holds_four_day_trades(orders):
    """Whatever the strategy asks (round trips: an entry and a later order the same day, of any
    size and sign), what passes the gate never makes a 4th day trade in any 5 business days (a day
    trade: the first exit after an entry the same New York day), and without shorting no passed
    order opens a short."""
    check_day_trades(orders, RiskConfig(max_position_pct=1.0))


def test_the_property_fails_without_the_guard():
    """The property is not vacuous: without the guard, four quick round trips break it."""
    four = [(0, 10 * k, "ABC"[k % 3], 10, -10) for k in range(4)]
    with pytest.raises(AssertionError):
        check_day_trades(four, RiskConfig(max_position_pct=1.0, pdt_guard=False))
    check_day_trades(four, RiskConfig(max_position_pct=1.0))


def check_day_trades(orders: list[tuple], config: RiskConfig) -> None:
    gate = RiskGate.from_config(config)
    start = np.datetime64("2024-01-08")
    held: dict[str, int] = defaultdict(int)
    entered: dict[tuple, bool] = {}
    day_trades: list[np.datetime64] = []
    requests = []
    for day, minute, symbol, qty, second in orders:
        session_day = np.busday_offset(start, day)
        ts = datetime.fromisoformat(f"{session_day}T14:31").replace(tzinfo=UTC) + timedelta(minutes=minute)
        requests += [(ts, symbol, qty)] + ([(ts + timedelta(minutes=1), symbol, second)] if second else [])
    for ts, symbol, qty in sorted(requests, key=lambda r: r[0]):
        session_day = np.datetime64(ts.date())
        ctx = context(dict(held), equity=20_000)
        result = gate.evaluate(intent(symbol, qty, ts, price=10.0), ctx)
        if result.intent is None:
            continue
        if reduces_exposure(result.intent, ctx):
            if entered.get((session_day, symbol)):  # the first exit after an entry that day
                day_trades.append(session_day)
                entered[(session_day, symbol)] = False
        else:
            entered[(session_day, symbol)] = True
        held[symbol] += result.intent.signed_qty
        assert held[symbol] >= 0
    for k in range(10):
        window_start = np.busday_offset(start, k)
        window_end = np.busday_offset(start, k + 4)
        assert sum(1 for d in day_trades if window_start <= d <= window_end) <= 3


def test_the_pdt_guard_forgets_day_trades_older_than_five_business_days():
    """A long replay above $25,000 makes thousands of day trades: the guard keeps only the last
    5 business days' (so a check costs the same after 20,000 as after 2), and still blocks a 4th
    once equity falls under $25,000."""
    rule = PatternDayTrader(enabled=True)
    start = datetime(2024, 1, 8, 14, 31, tzinfo=UTC)
    for k in range(20_000):  # 20 round trips a day for 1,000 days, above $25,000
        ts = start + timedelta(days=k // 20, minutes=k % 20)
        rule.on_pass(intent("A", 10, ts), context({}))
        rule.on_pass(intent("A", -10, ts + timedelta(seconds=30)), context({"A": 10}))
    assert len(rule._day_trades) <= 9 * 20  # 5 business days span at most 9 calendar days
    last = start + timedelta(days=999, minutes=30)
    assert rule.check(intent("B", 10, last), context({}, equity=20_000)).action is Action.DENY
    two_weeks_later = last + timedelta(days=14)  # past 5 business days whatever the weekday
    assert rule.check(intent("B", 10, two_weeks_later), context({}, equity=20_000)).action is Action.ALLOW


def test_the_broker_s_day_trade_count_binds_after_a_restart():
    """A fresh guard (a restarted bot) knows no day trades; Alpaca's ``daytrade_count`` does."""
    rule = PatternDayTrader(enabled=True)
    monday = datetime(2024, 1, 8, 15, tzinfo=UTC)
    fresh = context({}, equity=20_000)._replace(broker_day_trades=3)
    blocked = rule.check(intent("D", 10, monday), fresh)
    assert blocked.action is Action.DENY and "3 day trade(s)" in blocked.reason
    assert rule.check(intent("D", 10, monday), fresh._replace(broker_day_trades=2)).action is Action.ALLOW
    assert (
        rule.check(intent("D", 10, monday), context({}, equity=20_000)).action is Action.ALLOW
    )  # no count: ours


def test_alpaca_s_daytrade_count_reaches_the_context(tmp_path):
    from fakes.alpaca_trading import TradingFakeServer, alpaca_broker

    server = TradingFakeServer(cash=20_000.0).start()
    try:
        server.daytrade_count = 3
        assert alpaca_broker(server).account().extra["daytrade_count"] == 3
    finally:
        server.stop()
