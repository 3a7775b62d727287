"""SimBroker against hand-computed cases (the arithmetic is in the comments)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.broker.base import OrderRequest, OrderStatus, OrderType, Side
from bot.broker.sim import SimBroker
from bot.broker.sim_trigger import trigger

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


def t(i: int) -> datetime:
    return T0 + timedelta(minutes=i)


def bar(o: float, h: float, low: float, c: float) -> tuple[float, float, float, float, float]:
    return (o, h, low, c, 1000.0)


def buy(cid: str, qty: int, symbol: str = "AAA", **kw: object) -> OrderRequest:
    return OrderRequest(cid, symbol, Side.BUY, qty, **kw)  # type: ignore[arg-type]


def sell(cid: str, qty: int, symbol: str = "AAA", **kw: object) -> OrderRequest:
    return OrderRequest(cid, symbol, Side.SELL, qty, **kw)  # type: ignore[arg-type]


def make(cash: float = 10_000.0, **kw: object) -> SimBroker:
    return SimBroker(initial_cash=cash, symbols=["AAA", "BBB"], **kw)  # type: ignore[arg-type]


def holding(broker: SimBroker, qty: int, price: float, symbol: str = "AAA") -> None:
    """Buy ``qty`` at ``price`` on bar t(0) (flat bar at ``price``)."""
    assert broker.submit(buy(f"setup-{symbol}", qty, symbol)).status is OrderStatus.NEW
    assert len(broker.on_bars(t(0), {symbol: bar(price, price, price, price)})) == 1


# ---- market orders and accounting ---------------------------------------------------------


def test_market_buy_fills_at_next_open_with_slippage_and_commission() -> None:
    b = make(slippage_bps=10, commission_per_share=0.01, min_commission=1.0)
    b.mark("AAA", 100.0)
    order = b.submit(buy("b1", 10))
    assert order.status is OrderStatus.NEW and b.fills == ()
    assert b.account().cash == 10_000.0  # nothing moves before the next bar

    fills = b.on_bars(t(1), {"AAA": bar(101.0, 102.0, 100.0, 101.5)})

    # price = open 101 * (1 + 10/10_000) = 101.101; commission = max(10 * 0.01, 1.0) = 1.0
    assert len(fills) == 1
    fill = fills[0]
    assert (fill.client_order_id, fill.side, fill.qty, fill.ts) == ("b1", Side.BUY, 10, t(1))
    assert fill.price == pytest.approx(101.101)
    assert fill.commission == pytest.approx(1.0)
    assert order.status is OrderStatus.FILLED and order.filled_qty == 10
    assert order.filled_avg_price == pytest.approx(101.101)
    acct = b.account()
    # cash = 10_000 - 10 * 101.101 - 1 = 8_987.99; equity = cash + 10 * close 101.5 = 10_002.99
    assert acct.cash == pytest.approx(8_987.99)
    assert acct.equity == pytest.approx(10_002.99)
    assert acct.buying_power == pytest.approx(8_987.99)
    assert acct.fees_paid == pytest.approx(1.0)
    pos = b.positions()["AAA"]
    assert (pos.qty, pos.last_price) == (10, 101.5)
    assert pos.avg_price == pytest.approx(101.101)
    assert b.fills == (fill,)


def test_sell_slippage_is_adverse() -> None:
    b = make(slippage_bps=50)
    holding(b, 10, 100.0)  # bought at 100 * 1.005 = 100.5
    b.submit(sell("s1", 10))
    (fill,) = b.on_bars(t(1), {"AAA": bar(200.0, 200.0, 200.0, 200.0)})
    assert fill.price == pytest.approx(199.0)  # 200 * (1 - 0.005)
    assert b.account().realized_pnl == pytest.approx(10 * (199.0 - 100.5))


def test_buy_add_partial_sell_full_sell_accounting() -> None:
    b = make(100_000.0, commission_pct=0.001)
    b.submit(buy("b1", 100))
    b.on_bars(t(1), {"AAA": bar(100.0, 103.0, 99.0, 102.0)})
    # fee = 0.001 * 100 * 100 = 10; cash = 100_000 - 10_000 - 10 = 89_990
    # equity = 89_990 + 100 * close 102 = 100_190
    acct = b.account()
    assert acct.cash == pytest.approx(89_990.0)
    assert acct.equity == pytest.approx(100_190.0)
    assert b.positions()["AAA"].avg_price == pytest.approx(100.0)

    b.submit(buy("b2", 100))
    b.on_bars(t(2), {"AAA": bar(110.0, 110.0, 110.0, 110.0)})
    # fee = 11; cash = 89_990 - 11_000 - 11 = 78_979; avg = (100*100 + 100*110) / 200 = 105
    pos = b.positions()["AAA"]
    assert (pos.qty, pos.avg_price) == (200, pytest.approx(105.0))
    assert b.account().cash == pytest.approx(78_979.0)

    b.submit(sell("s1", 50))
    b.on_bars(t(3), {"AAA": bar(120.0, 120.0, 120.0, 120.0)})
    # fee = 6; cash = 78_979 + 6_000 - 6 = 84_973; realised = 50 * (120 - 105) = 750
    pos = b.positions()["AAA"]
    assert (pos.qty, pos.avg_price) == (150, pytest.approx(105.0))  # avg unchanged on a reduction
    assert pos.realized_pnl == pytest.approx(750.0)
    acct = b.account()
    assert acct.cash == pytest.approx(84_973.0)
    assert acct.realized_pnl == pytest.approx(750.0)
    # equity = 84_973 + 150 * 120 = 102_973
    assert acct.equity == pytest.approx(102_973.0)

    b.submit(sell("s2", 150))
    b.on_bars(t(4), {"AAA": bar(104.0, 104.0, 104.0, 104.0)})
    # fee = 15.6; cash = 84_973 + 15_600 - 15.6 = 100_557.4
    # realised += 150 * (104 - 105) = -150 -> 600; fees = 10 + 11 + 6 + 15.6 = 42.6
    # check: equity = 100_000 + 600 - 42.6 = 100_557.4
    acct = b.account()
    assert b.positions() == {}
    assert acct.cash == pytest.approx(100_557.4)
    assert acct.equity == pytest.approx(100_557.4)
    assert acct.realized_pnl == pytest.approx(600.0)
    assert acct.fees_paid == pytest.approx(42.6)


def test_short_through_zero_resets_avg_and_short_collateral() -> None:
    b = make(1_000.0, allow_short=True)
    holding(b, 5, 100.0)  # cash 500
    b.submit(sell("s1", 8))
    b.on_bars(t(1), {"AAA": bar(110.0, 110.0, 110.0, 100.0)})
    # realised = 5 * (110 - 100) = 50; 3 short at 110; cash = 500 + 8 * 110 = 1_380
    pos = b.positions()["AAA"]
    assert (pos.qty, pos.avg_price) == (-3, pytest.approx(110.0))
    acct = b.account()
    assert acct.realized_pnl == pytest.approx(50.0)
    assert acct.cash == pytest.approx(1_380.0)
    # equity = 1_380 - 3 * close 100 = 1_080; buying power = cash - short value = 1_380 - 300
    assert acct.equity == pytest.approx(1_080.0)
    assert acct.buying_power == pytest.approx(1_080.0)
    # a further short of 11 at ~100 needs 1_100 > 1_080
    reason = b.submit(sell("s2", 11)).reason
    assert reason == "insufficient buying power: need 1100.00, have 1080.00"
    assert b.submit(sell("s3", 10)).status is OrderStatus.NEW


# ---- limit and stop orders ----------------------------------------------------------------


def test_limit_buy_fills_at_limit_intrabar_and_at_gapped_open_without_slippage() -> None:
    b = make(slippage_bps=10)
    b.mark("AAA", 100.0)
    b.submit(buy("l1", 1, type=OrderType.LIMIT, limit_price=99.0))
    assert b.on_bars(t(1), {"AAA": bar(100.0, 101.0, 99.5, 100.0)}) == []  # low 99.5 > 99
    (fill,) = b.on_bars(t(2), {"AAA": bar(100.0, 100.5, 98.0, 99.5)})
    assert fill.price == 99.0  # open 100 > 99, low 98 <= 99 -> the limit; no slippage

    b.submit(buy("l2", 1, type=OrderType.LIMIT, limit_price=99.0))
    (fill,) = b.on_bars(t(3), {"AAA": bar(97.0, 98.0, 96.0, 97.5)})
    assert fill.price == 97.0  # gapped below the limit: the better open


def test_limit_sell_at_limit_and_at_gapped_open() -> None:
    b = make()
    holding(b, 2, 100.0)
    b.submit(sell("l1", 1, type=OrderType.LIMIT, limit_price=105.0))
    (fill,) = b.on_bars(t(1), {"AAA": bar(103.0, 106.0, 102.0, 104.0)})
    assert fill.price == 105.0
    b.submit(sell("l2", 1, type=OrderType.LIMIT, limit_price=105.0))
    (fill,) = b.on_bars(t(2), {"AAA": bar(107.0, 108.0, 106.0, 107.0)})
    assert fill.price == 107.0


def test_stop_sell_intrabar_vs_gap_through_open() -> None:
    b = make(slippage_bps=10)
    holding(b, 2, 100.0)
    b.submit(sell("s1", 1, type=OrderType.STOP, stop_price=95.0))
    assert b.on_bars(t(1), {"AAA": bar(96.0, 97.0, 95.5, 96.0)}) == []  # low 95.5 > 95
    (fill,) = b.on_bars(t(2), {"AAA": bar(97.0, 98.0, 94.0, 96.0)})
    assert fill.price == pytest.approx(94.905)  # the stop 95 * (1 - 0.001)

    b.submit(sell("s2", 1, type=OrderType.STOP, stop_price=95.0))
    (fill,) = b.on_bars(t(3), {"AAA": bar(93.0, 94.0, 90.0, 92.0)})
    assert fill.price == pytest.approx(92.907)  # gapped through: open 93 * 0.999


def test_stop_buy_triggers_on_high() -> None:
    b = make(slippage_bps=10)
    b.mark("AAA", 100.0)
    b.submit(buy("sb", 1, type=OrderType.STOP, stop_price=105.0))
    (fill,) = b.on_bars(t(1), {"AAA": bar(103.0, 106.0, 102.0, 105.0)})
    assert fill.price == pytest.approx(105.105)  # 105 * 1.001


@pytest.mark.parametrize(
    ("side", "kind", "level", "expected"),
    [
        (Side.BUY, OrderType.LIMIT, 99.0, (99.0, False)),
        (Side.BUY, OrderType.LIMIT, 101.0, (100.0, True)),
        (Side.SELL, OrderType.LIMIT, 104.0, None),  # high 103
        (Side.SELL, OrderType.STOP, 98.0, (98.0, False)),
        (Side.SELL, OrderType.STOP, 100.5, (100.0, True)),
        (Side.BUY, OrderType.STOP, 103.5, None),
    ],
)
def test_trigger_table(side: Side, kind: OrderType, level: float, expected: object) -> None:
    price = {"limit_price": level} if kind is OrderType.LIMIT else {"stop_price": level}
    request = OrderRequest("x", "AAA", side, 1, kind, **price)  # type: ignore[arg-type]
    assert trigger(request, 100.0, 103.0, 97.0) == expected


# ---- protective stops ---------------------------------------------------------------------


def test_protective_stop_attached_on_entry_fill_and_triggered_later() -> None:
    b = make()
    b.submit(buy("e1", 10, protective_stop=95.0))
    assert [o.client_order_id for o in b.open_orders()] == ["e1"]  # no stop before the fill
    b.on_bars(t(1), {"AAA": bar(100.0, 101.0, 99.0, 100.0)})
    stop = b.get_order("e1-stop")
    assert stop is not None and stop.protective and stop.status is OrderStatus.NEW
    r = stop.request
    assert (r.side, r.type, r.qty, r.stop_price) == (Side.SELL, OrderType.STOP, 10, 95.0)
    assert stop.submitted_at == t(1)
    assert b.open_orders() == [stop]

    (fill,) = b.on_bars(t(2), {"AAA": bar(98.0, 99.0, 94.0, 96.0)})
    assert (fill.client_order_id, fill.price, fill.qty) == ("e1-stop", 95.0, 10)
    # cash = 10_000 - 10 * 100 + 10 * 95 = 9_950; realised = 10 * (95 - 100) = -50
    assert b.account().cash == pytest.approx(9_950.0)
    assert b.account().realized_pnl == pytest.approx(-50.0)
    assert b.positions() == {} and b.open_orders() == []


def test_protective_stop_can_trigger_in_the_entry_bar() -> None:
    b = make()
    b.submit(buy("e1", 10, protective_stop=95.0))
    fills = b.on_bars(t(1), {"AAA": bar(100.0, 101.0, 94.0, 96.0)})
    # entry at the open 100, then the low 94 reaches the stop: out at 95
    assert [(f.client_order_id, f.price) for f in fills] == [("e1", 100.0), ("e1-stop", 95.0)]
    assert b.positions() == {}
    assert b.account().cash == pytest.approx(9_950.0)


def test_protective_stop_not_hit_in_entry_bar_stays_open() -> None:
    b = make()
    b.submit(buy("e1", 10, protective_stop=95.0))
    assert len(b.on_bars(t(1), {"AAA": bar(100.0, 101.0, 96.0, 97.0)})) == 1
    assert b.get_order("e1-stop").status is OrderStatus.NEW  # type: ignore[union-attr]


def test_shares_held_by_a_protective_stop_cannot_be_sold_until_it_is_cancelled() -> None:
    """Alpaca's held quantity: the open stop leg holds all 10 shares."""
    b = make()
    b.submit(buy("e1", 10, protective_stop=95.0))
    b.on_bars(t(1), {"AAA": bar(100.0, 101.0, 99.0, 100.0)})
    refused = b.submit(sell("x1", 4))
    assert refused.status is OrderStatus.REJECTED
    assert refused.reason == "insufficient qty available for order (requested: 4, available: 0)"
    stop = b.cancel("e1-stop")
    assert stop is not None and stop.status is OrderStatus.CANCELED
    assert b.submit(sell("x2", 10)).status is OrderStatus.NEW
    # the market exit fills at the open 100; no stop is left to see the low 90
    fills = b.on_bars(t(2), {"AAA": bar(100.0, 100.0, 90.0, 92.0)})
    assert [(f.client_order_id, f.price) for f in fills] == [("x2", 100.0)]
    assert b.open_orders() == [] and b.positions() == {}


def test_protective_stop_cancelled_on_close_even_when_not_touched() -> None:
    b = make()
    b.submit(buy("e1", 10, protective_stop=95.0))
    b.on_bars(t(1), {"AAA": bar(100.0, 101.0, 99.0, 100.0)})
    b.close_all()
    b.on_bars(t(2), {"AAA": bar(100.0, 101.0, 99.0, 100.0)})  # low 99: the stop is not reached
    stop = b.get_order("e1-stop")
    assert stop is not None and stop.status is OrderStatus.CANCELED
    assert b.open_orders() == [] and b.positions() == {}


def test_a_partial_sale_re_protected_by_a_standalone_stop() -> None:
    """What ``bot.engine.protection`` does: cancel the leg, sell part, protect the rest with an id ending in -stop."""
    b = make()
    b.submit(buy("e1", 10, protective_stop=95.0))
    b.on_bars(t(1), {"AAA": bar(100.0, 100.0, 100.0, 100.0)})
    b.cancel("e1-stop")
    assert b.submit(sell("p1", 4)).status is OrderStatus.NEW
    rest = b.submit(OrderRequest("p1-stop", "AAA", Side.SELL, 6, OrderType.STOP, stop_price=95.0))
    assert rest.status is OrderStatus.NEW and rest.protective
    assert b.submit(sell("p2", 1)).status is OrderStatus.REJECTED  # all 10 held: 4 by the sale, 6 by the stop
    b.on_bars(t(2), {"AAA": bar(100.0, 100.0, 100.0, 100.0)})
    (fill,) = b.on_bars(t(3), {"AAA": bar(96.0, 96.0, 90.0, 91.0)})
    assert (fill.client_order_id, fill.qty, fill.price) == ("p1-stop", 6, 95.0)
    assert b.positions() == {}


def test_short_entry_gets_a_buy_stop() -> None:
    b = make(allow_short=True)
    b.submit(sell("s1", 10, protective_stop=105.0))
    b.on_bars(t(1), {"AAA": bar(100.0, 101.0, 99.0, 100.0)})
    stop = b.get_order("s1-stop")
    assert stop is not None and stop.request.side is Side.BUY and stop.protective
    (fill,) = b.on_bars(t(2), {"AAA": bar(102.0, 106.0, 101.0, 104.0)})
    assert (fill.client_order_id, fill.price) == ("s1-stop", 105.0)
    # cash = 10_000 + 1_000 - 1_050 = 9_950; realised = 10 * (100 - 105) = -50
    assert b.account().cash == pytest.approx(9_950.0)
    assert b.account().realized_pnl == pytest.approx(-50.0)
    assert b.positions() == {}


# ---- rejections ---------------------------------------------------------------------------


def test_unknown_symbol_rejected() -> None:
    b = make()
    order = b.submit(buy("u1", 1, symbol="XYZ"))
    assert order.status is OrderStatus.REJECTED
    assert order.reason == "unknown symbol XYZ"
    assert b.open_orders() == [] and b.get_order("u1") is order


def test_shorting_disabled() -> None:
    b = make()
    assert b.submit(sell("s0", 1)).reason.startswith("shorting is disabled")
    holding(b, 5, 100.0)
    assert b.submit(sell("s1", 6)).status is OrderStatus.REJECTED
    assert b.submit(sell("s2", 5)).status is OrderStatus.NEW


def test_a_second_sell_of_shares_already_under_a_sell_is_refused_at_submit() -> None:
    b = make()
    holding(b, 5, 100.0)
    b.submit(sell("s1", 5))
    s2 = b.submit(sell("s2", 5))  # the position is still 5, but s1 holds all of it (Alpaca's rule)
    assert s2.status is OrderStatus.REJECTED
    assert s2.reason == "insufficient qty available for order (requested: 5, available: 0)"
    fills = b.on_bars(t(1), {"AAA": bar(100.0, 100.0, 100.0, 100.0)})
    assert [f.client_order_id for f in fills] == ["s1"] and b.positions() == {}


def test_insufficient_buying_power_at_submit() -> None:
    b = make(1_000.0, slippage_bps=10, min_commission=1.0)
    b.mark("AAA", 100.0)
    # need = 10 * 100 * 1.001 + 1 = 1_002 > 1_000
    order = b.submit(buy("b1", 10))
    assert order.status is OrderStatus.REJECTED
    assert order.reason == "insufficient buying power: need 1002.00, have 1000.00"
    assert b.submit(buy("b2", 9)).status is OrderStatus.NEW  # 900.9 + 1 = 901.9


def test_insufficient_buying_power_at_fill_when_no_price_was_known() -> None:
    b = make(1_000.0)
    order = b.submit(buy("b1", 10))
    assert order.status is OrderStatus.NEW  # no price yet: accepted
    assert b.on_bars(t(1), {"AAA": bar(101.0, 101.0, 101.0, 101.0)}) == []  # needs 1_010
    assert order.status is OrderStatus.REJECTED
    assert order.reason.startswith("insufficient buying power at fill")
    assert b.account().cash == 1_000.0 and b.positions() == {} and b.open_orders() == []


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (OrderRequest("q0", "AAA", Side.BUY, 0), "qty must be > 0, got 0"),
        (OrderRequest("q1", "AAA", Side.BUY, -5), "qty must be > 0, got -5"),
        (OrderRequest("q2", "AAA", Side.BUY, 1, OrderType.LIMIT), "limit order needs a limit"),
        (OrderRequest("q3", "AAA", Side.BUY, 1, OrderType.STOP), "stop order needs a stop_price"),
    ],
)
def test_bad_requests_rejected(request_: OrderRequest, reason: str) -> None:
    order = make().submit(request_)
    assert order.status is OrderStatus.REJECTED and order.reason.startswith(reason)


# ---- idempotency, ordering, cancel and close -----------------------------------------------


def test_resubmit_with_same_client_order_id_returns_existing_order() -> None:
    b = make()
    first = b.submit(buy("dup", 1))
    again = b.submit(buy("dup", 99))  # different content, same id: still the first order
    assert again is first and again.request.qty == 1
    assert len(b.orders) == 1 and len(b.open_orders()) == 1
    b.on_bars(t(1), {"AAA": bar(100.0, 100.0, 100.0, 100.0)})
    assert b.submit(buy("dup", 1)) is first and first.status is OrderStatus.FILLED
    assert b.on_bars(t(2), {"AAA": bar(100.0, 100.0, 100.0, 100.0)}) == []
    assert len(b.fills) == 1 and b.positions()["AAA"].qty == 1


def test_sells_fill_before_buys_so_freed_cash_pays_for_the_buy() -> None:
    b = make(1_000.0)
    holding(b, 10, 100.0)  # cash 0
    b.mark("BBB", 200.0)
    assert b.submit(buy("b-early", 5, symbol="BBB")).reason.startswith("insufficient")  # no sell
    b.submit(sell("s", 10))
    # submit counts the open sell's proceeds: 10 * 100 = 1_000 >= 5 * 200
    assert b.submit(buy("b", 5, symbol="BBB")).status is OrderStatus.NEW
    # BBB comes first in the mapping: the order of symbols must not matter
    bars = {"BBB": bar(200.0, 200.0, 200.0, 200.0), "AAA": bar(100.0, 100.0, 100.0, 100.0)}
    fills = b.on_bars(t(1), bars)
    assert [f.client_order_id for f in fills] == ["s", "b"]
    assert b.account().cash == pytest.approx(0.0)
    assert {s: p.qty for s, p in b.positions().items()} == {"BBB": 5}


def test_cancel_all() -> None:
    b = make()
    b.submit(buy("l1", 1, type=OrderType.LIMIT, limit_price=99.0))
    b.submit(buy("l2", 1, symbol="BBB", type=OrderType.LIMIT, limit_price=50.0))
    cancelled = b.cancel_all()
    assert [o.client_order_id for o in cancelled] == ["l1", "l2"]
    assert all(o.status is OrderStatus.CANCELED for o in cancelled)
    assert b.open_orders() == []
    # a bar that would have filled both fills nothing
    bars = {"AAA": bar(90.0, 90.0, 90.0, 90.0), "BBB": bar(40.0, 40.0, 40.0, 40.0)}
    assert b.on_bars(t(1), bars) == []
    assert b.cancel_all() == []


def test_close_all_flattens_long_and_short() -> None:
    b = make(allow_short=True)
    b.submit(buy("e1", 10, protective_stop=90.0))
    b.submit(sell("e2", 5, symbol="BBB"))
    b.on_bars(t(0), {"AAA": bar(100.0, 100.0, 100.0, 100.0), "BBB": bar(50.0, 50.0, 50.0, 50.0)})
    b.submit(
        buy("pending", 1, symbol="BBB", type=OrderType.LIMIT, limit_price=1.0)
    )  # (AAA's stop: a wash trade)

    closes = b.close_all()

    ids = [(o.client_order_id, o.request.side, o.request.qty) for o in closes]
    assert ids == [
        ("close-AAA-20240102T143000", Side.SELL, 10),  # t(0): the last bar time
        ("close-BBB-20240102T143000", Side.BUY, 5),
    ]
    assert b.get_order("pending").status is OrderStatus.CANCELED  # type: ignore[union-attr]
    assert b.get_order("e1-stop").status is OrderStatus.CANCELED  # type: ignore[union-attr]
    assert b.close_all() == closes  # same time: the same orders, still open
    assert all(o.status is OrderStatus.NEW for o in closes)

    b.on_bars(t(1), {"AAA": bar(110.0, 110.0, 110.0, 110.0), "BBB": bar(40.0, 40.0, 40.0, 40.0)})
    assert b.positions() == {} and b.open_orders() == []
    # AAA: +10 * (110 - 100) = 100; BBB short: 5 * (50 - 40) = 50 -> cash 10_150
    assert b.account().cash == pytest.approx(10_150.0)
    assert b.account().equity == pytest.approx(10_150.0)


# ---- time -----------------------------------------------------------------------------------


def test_submitted_at_uses_clock_else_last_bar_time() -> None:
    now = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert make(clock=lambda: now).submit(buy("c", 1)).submitted_at == now
    b = make()
    b.on_bars(t(7), {"AAA": bar(1.0, 1.0, 1.0, 1.0)})
    assert b.submit(buy("d", 1)).submitted_at == t(7)


def test_on_bars_refuses_naive_or_backwards_time() -> None:
    b = make()
    b.on_bars(t(2), {})
    with pytest.raises(ValueError, match="back in time"):
        b.on_bars(t(1), {})
    with pytest.raises(ValueError, match="tz-aware"):
        b.on_bars(datetime(2024, 1, 3), {})


def test_read_only_views() -> None:
    b = make()
    b.submit(buy("x", 1))
    with pytest.raises(TypeError):
        b.orders["y"] = b.orders["x"]  # type: ignore[index]
    assert isinstance(b.fills, tuple)


def test_cover_of_a_short_is_never_refused_for_buying_power() -> None:
    b = make(1_000.0, allow_short=True)
    b.submit(sell("s1", 10))
    b.on_bars(t(1), {"AAA": bar(100.0, 100.0, 100.0, 250.0)})
    # cash = 1_000 + 10 * 100 = 2_000; buying power = max(2_000 - 10 * 250, 0) = 0
    assert b.account().buying_power == 0.0
    cover = b.submit(buy("c1", 10))
    assert cover.status is OrderStatus.NEW
    (fill,) = b.on_bars(t(2), {"AAA": bar(300.0, 300.0, 300.0, 300.0)})
    # squeeze: cover costs 3_000 > cash 2_000 but still fills; cash = -1_000 = equity
    assert fill.price == 300.0
    assert b.account().cash == pytest.approx(-1_000.0)
    assert b.account().equity == pytest.approx(-1_000.0)
    assert b.account().realized_pnl == pytest.approx(-2_000.0)  # 10 * (100 - 300)
