"""Two ways Alpaca differs from a tidy book, with the real alpaca-py client against the strict fake:
legs that stop being nested under their entry once it fills, and partial fills."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.broker.base import OrderRequest, OrderStatus, OrderType, Side
from bot.journal.store import Journal

from fakes.alpaca_trading import TradingFakeServer, alpaca_broker, journaled_protected_entry


def _protected_entry(server: TradingFakeServer, tmp_path) -> Journal:
    """An entry with its stop, sent and journaled by one process (which then ends)."""
    journal = Journal(tmp_path / "journal.sqlite")
    journaled_protected_entry(server, journal, "e-1", 10, 90.0)
    return journal


def test_a_leg_listed_on_its_own_after_the_fill_is_still_known_as_ours(server, tmp_path) -> None:
    journal = _protected_entry(server, tmp_path)
    server.tick()
    raw = [o for o in server.orders if o["_parent"]][0]
    assert raw["_unnested"] and raw["status"] == "new"  # the fake lists it as an order of its own
    stranger = alpaca_broker(server)  # a new process that has not read the journal
    [seen] = stranger.open_orders()
    assert not seen.protective and seen.client_order_id == raw["client_order_id"]

    restarted = alpaca_broker(server)
    restarted.know_legs(journal.protective_legs())
    [stop] = restarted.open_orders()
    assert (stop.client_order_id, stop.protective, stop.request.qty, stop.request.stop_price) == (
        "e-1-stop",
        True,
        10,
        90.0,
    )
    assert restarted.get_order("e-1-stop").status is OrderStatus.NEW
    assert restarted.cancel("e-1-stop").status is OrderStatus.CANCELED
    journal.close()


def test_a_filled_unnested_leg_is_reported_as_the_protective_fill(server, tmp_path) -> None:
    journal = _protected_entry(server, tmp_path)
    server.tick()
    start = datetime.now(UTC) - timedelta(seconds=1)
    server.set_price("AAPL", 89.0)
    restarted = alpaca_broker(server)
    restarted.know_legs(journal.protective_legs())
    fills = [(f.client_order_id, f.side, f.qty) for f in restarted.fills_since(start)]
    assert ("e-1-stop", Side.SELL, 10) in fills
    assert restarted.positions() == {}
    journal.close()


def test_nested_legs_still_work_when_alpaca_keeps_them_nested(server) -> None:
    server.legs_unnest_after_fill = False
    broker = alpaca_broker(server)
    broker.submit(OrderRequest("n-1", "AAPL", Side.BUY, 10, protective_stop=90.0))
    server.tick()
    [stop] = alpaca_broker(server).open_orders()  # a fresh process: found through its entry
    assert (stop.client_order_id, stop.protective) == ("n-1-stop", True)


def test_a_partial_fill_shows_its_shares_then_completes(server) -> None:
    server.partial_fill_every = 1  # every simple market order fills in two parts
    server.auto_fill = False
    broker = alpaca_broker(server)
    broker.submit(OrderRequest("p-1", "AAPL", Side.BUY, 10))
    server.tick()  # the first half trades
    part = broker.get_order("p-1")  # this request answers before the rest fills
    assert (part.status, part.filled_qty) == (OrderStatus.NEW, 5)
    assert broker.positions()["AAPL"].qty in (5, 10)  # the rest fills after the previous answer
    done = broker.get_order("p-1")
    assert (done.status, done.filled_qty, done.filled_avg_price) == (OrderStatus.FILLED, 10, 100.0)
    assert broker.positions()["AAPL"].qty == 10


def test_a_partly_filled_sale_still_holds_the_rest(server) -> None:
    """The unfilled rest of a working sale holds its shares: a second sale of them is refused."""
    server.add_position("AAPL", 10, 95.0)
    server.partial_fill_every = 1
    server.auto_fill = False
    broker = alpaca_broker(server)
    broker.submit(OrderRequest("ps-1", "AAPL", Side.SELL, 10))
    server.tick()
    with server.lock:
        assert server.holdings["AAPL"][0] == 5
    server.auto_fill = False
    refused = server.post_order({}, {"symbol": "AAPL", "qty": "5", "side": "sell", "type": "market"})
    assert refused[0] == 403 and "available: 0" in refused[1]["message"]
    assert OrderType.MARKET  # the refusal is the fake's own; the bot never sends it (held shares)
