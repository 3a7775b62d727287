"""One suite, every broker: SimBroker and AlpacaBroker (real alpaca-py) against the local fake.

A tiny ``market`` adapter lets one test body drive both: ``market.price(symbol, p)`` sets the
next trade price and ``market.step()`` lets the broker trade on it (SimBroker: a flat bar at p;
the fake: a matching pass at the current prices).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.broker.base import Broker, OrderRequest, OrderStatus, OrderType, Side
from bot.broker.sim import SimBroker

from fakes.alpaca_trading import TradingFakeServer, alpaca_broker

CASH = 100_000.0


class SimMarket:
    def __init__(self, broker: SimBroker) -> None:
        self.broker, self.prices = broker, {}
        self.ts = datetime(2024, 1, 2, 15, tzinfo=UTC)

    def price(self, symbol: str, p: float) -> None:
        self.prices[symbol] = p
        self.broker.mark(symbol, p)

    def step(self) -> None:
        self.ts += timedelta(minutes=1)
        self.broker.on_bars(self.ts, {s: (p, p, p, p, 1000.0) for s, p in self.prices.items()})

    def close_session(self) -> None:
        """The session closes: the next bar is the next day's."""
        self.ts += timedelta(days=1)


class FakeMarket:
    def __init__(self, server: TradingFakeServer) -> None:
        self.server = server

    def price(self, symbol: str, p: float) -> None:
        self.server.set_price(symbol, p)

    def step(self) -> None:
        self.server.tick()

    def close_session(self) -> None:
        self.server.expire_day_orders()


@dataclass
class Venue:
    broker: Broker
    market: Any


@pytest.fixture(params=["sim", "alpaca"])
def venue(request: pytest.FixtureRequest) -> Iterator[Venue]:
    if request.param == "sim":
        broker = SimBroker(initial_cash=CASH, symbols=["AAPL", "MSFT"])
        yield Venue(broker, SimMarket(broker))
        return
    server = TradingFakeServer(cash=CASH).start()
    try:
        yield Venue(alpaca_broker(server), FakeMarket(server))
    finally:
        server.stop()


def buy(cid: str, qty: int = 10, symbol: str = "AAPL", **kw: Any) -> OrderRequest:
    return OrderRequest(cid, symbol, Side.BUY, qty, **kw)


def test_market_buy_fills_and_updates_account(venue: Venue) -> None:
    b, m = venue.broker, venue.market
    m.price("AAPL", 100.0)
    order = b.submit(buy("mkt-1"))
    assert order.status in (OrderStatus.NEW, OrderStatus.FILLED) and order.client_order_id == "mkt-1"
    m.step()
    filled = b.get_order("mkt-1")
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert (filled.filled_qty, filled.filled_avg_price) == (10, 100.0)
    pos = b.positions()
    assert list(pos) == ["AAPL"] and (pos["AAPL"].qty, pos["AAPL"].avg_price) == (10, 100.0)
    acct = b.account()
    assert acct.cash == pytest.approx(CASH - 1000.0) and acct.equity == pytest.approx(CASH)
    assert b.open_orders() == []


def test_resubmitting_an_id_returns_the_same_order(venue: Venue) -> None:
    b, m = venue.broker, venue.market
    m.price("AAPL", 100.0)
    first = b.submit(buy("idem-1"))
    second = b.submit(buy("idem-1"))
    assert second.broker_order_id == first.broker_order_id
    m.step()
    assert b.positions()["AAPL"].qty == 10  # one order, not two


def test_limit_waits_until_the_price_crosses(venue: Venue) -> None:
    b, m = venue.broker, venue.market
    m.price("AAPL", 100.0)
    b.submit(buy("lim-1", type=OrderType.LIMIT, limit_price=95.0))
    m.price("AAPL", 96.0)
    m.step()
    assert b.get_order("lim-1").status is OrderStatus.NEW
    assert [o.client_order_id for o in b.open_orders()] == ["lim-1"]
    m.price("AAPL", 94.0)
    m.step()
    done = b.get_order("lim-1")
    assert done.status is OrderStatus.FILLED and done.filled_avg_price <= 95.0
    assert b.positions()["AAPL"].qty == 10


def test_insufficient_buying_power_is_rejected_with_a_reason(venue: Venue) -> None:
    b, m = venue.broker, venue.market
    m.price("AAPL", 100.0)
    order = b.submit(buy("big-1", qty=10_000))
    assert order.status is OrderStatus.REJECTED
    assert "buying power" in order.reason
    m.step()
    assert b.positions() == {}


def test_cancel_all_cancels_open_orders(venue: Venue) -> None:
    b, m = venue.broker, venue.market
    m.price("AAPL", 100.0)
    m.price("MSFT", 300.0)
    b.submit(buy("c-1", type=OrderType.LIMIT, limit_price=50.0))
    b.submit(buy("c-2", symbol="MSFT", type=OrderType.LIMIT, limit_price=150.0))
    cancelled = b.cancel_all()
    assert sorted(o.client_order_id for o in cancelled) == ["c-1", "c-2"]
    assert all(o.status is OrderStatus.CANCELED for o in cancelled)
    assert b.open_orders() == []
    m.price("AAPL", 40.0)
    m.step()
    assert b.get_order("c-1").status is OrderStatus.CANCELED and b.positions() == {}


def test_close_all_flattens_every_position(venue: Venue) -> None:
    b, m = venue.broker, venue.market
    m.price("AAPL", 100.0)
    m.price("MSFT", 300.0)
    b.submit(buy("f-1"))
    b.submit(buy("f-2", qty=5, symbol="MSFT"))
    b.submit(buy("f-3", type=OrderType.LIMIT, limit_price=50.0))  # left open: close_all cancels it
    m.step()
    assert {s: p.qty for s, p in b.positions().items()} == {"AAPL": 10, "MSFT": 5}
    closes = b.close_all()
    assert sorted((o.symbol, o.request.side, o.request.qty) for o in closes) == [
        ("AAPL", Side.SELL, 10),
        ("MSFT", Side.SELL, 5),
    ]
    m.step()
    assert b.positions() == {} and b.open_orders() == []
    assert b.get_order("f-3").status is OrderStatus.CANCELED
    assert b.account().cash == pytest.approx(CASH)


def test_protective_stop_is_attached_after_the_entry_fills(venue: Venue) -> None:
    b, m = venue.broker, venue.market
    m.price("AAPL", 100.0)
    b.submit(buy("ps-1", protective_stop=90.0))
    m.step()
    assert b.get_order("ps-1").status is OrderStatus.FILLED
    stops = [o for o in b.open_orders() if o.protective]
    assert len(stops) == 1
    stop = stops[0]
    assert (stop.symbol, stop.request.side, stop.request.qty, stop.request.type, stop.request.stop_price) == (
        "AAPL",
        Side.SELL,
        10,
        OrderType.STOP,
        90.0,
    )
    assert stop.client_order_id == "ps-1-stop"
    m.price("AAPL", 85.0)
    m.step()
    assert b.positions() == {}
    assert b.get_order("ps-1-stop").status is OrderStatus.FILLED


def sell(cid: str, qty: int = 10, symbol: str = "AAPL", **kw: Any) -> OrderRequest:
    return OrderRequest(cid, symbol, Side.SELL, qty, **kw)


def test_shares_held_by_an_open_stop_cannot_be_sold(venue: Venue) -> None:
    """Alpaca's held quantity (403 40310000 at Alpaca, REJECTED here): both brokers refuse it."""
    b, m = venue.broker, venue.market
    m.price("AAPL", 100.0)
    b.submit(buy("h-1", protective_stop=90.0))
    m.step()
    refused = b.submit(sell("h-2", 3))
    assert refused.status is OrderStatus.REJECTED
    assert refused.reason.startswith("insufficient qty available for order (requested: 3, available: 0)")
    m.step()
    assert b.positions()["AAPL"].qty == 10


def test_cancel_is_confirmed_then_the_shares_can_be_sold_and_re_protected(venue: Venue) -> None:
    b, m = venue.broker, venue.market
    m.price("AAPL", 100.0)
    b.submit(buy("r-1", protective_stop=90.0))
    m.step()
    leg = b.cancel("r-1-stop")
    assert leg is not None and leg.status is OrderStatus.CANCELED  # confirmed, not merely asked
    assert b.submit(sell("r-2", 4)).status is not OrderStatus.REJECTED
    rest = b.submit(sell("r-2-stop", 6, type=OrderType.STOP, stop_price=90.0))
    assert rest.status is not OrderStatus.REJECTED
    m.step()
    stops = [o for o in b.open_orders() if o.protective]
    assert [(o.client_order_id, o.request.qty, o.request.stop_price) for o in stops] == [
        ("r-2-stop", 6, 90.0)
    ]
    assert b.positions()["AAPL"].qty == 6
    m.price("AAPL", 85.0)
    m.step()
    assert b.positions() == {} and b.get_order("r-2-stop").status is OrderStatus.FILLED
    assert b.cancel("no-such-order") is None


@pytest.mark.parametrize("with_stop", [False, True], ids=["plain", "oto"])
def test_a_buy_while_a_stop_sell_is_open_is_a_wash_trade(venue: Venue, with_stop: bool) -> None:
    """Alpaca's wash-trade protection (422 42210000 there, REJECTED here), an OTO entry included
    (the stricter reading): both brokers refuse it, so adding to a protected long needs its stop
    released first (``bot.engine.protection``)."""
    b, m = venue.broker, venue.market
    m.price("AAPL", 100.0)
    b.submit(buy("w-1", protective_stop=90.0))
    m.step()
    refused = b.submit(buy("w-2", 5, protective_stop=90.0 if with_stop else None))
    assert refused.status is OrderStatus.REJECTED
    assert refused.reason.startswith("potential wash trade detected")
    m.step()
    assert b.positions()["AAPL"].qty == 10


def test_a_protective_stop_outlives_the_session(venue: Venue) -> None:
    """An entry's stop is still working after the close (Alpaca: its GTC leg survives the expiry of
    DAY orders; SimBroker: stops never expire), and it fills when the price falls through later."""
    b, m = venue.broker, venue.market
    m.price("AAPL", 100.0)
    b.submit(buy("s-1", protective_stop=90.0))
    m.step()
    m.close_session()
    assert [o.client_order_id for o in b.open_orders() if o.protective] == ["s-1-stop"]
    m.price("AAPL", 89.0)
    m.step()
    assert b.positions() == {} and b.get_order("s-1-stop").status is OrderStatus.FILLED
