"""A protected long traded through the engine with the real alpaca-py client against the strict
fake: the stop lasts across sessions, a reduction is sold without a 403 and what is left stays
protected, an add gets no wash-trade refusal and ends fully protected."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pandas as pd
import pytest

from bot.broker.base import OrderStatus
from bot.config import RiskConfig
from bot.engine.builder import EngineConfig, build_engine
from bot.engine.engine import Engine
from bot.engine.market import MarketView
from bot.journal.store import Journal
from strategies.base import Strategy

from fakes.alpaca_trading import TradingFakeServer, alpaca_broker

DAYS = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07"]


class Wants(Strategy):
    """Whatever weight the test sets for AAPL."""

    name = "wants"

    def __init__(self) -> None:
        super().__init__(["AAPL"], 1.0)
        self.weight: float | None = None

    def targets(self, view, forecasts=None, risk=None) -> dict[str, float]:
        return {} if self.weight is None else {"AAPL": self.weight}


@pytest.fixture
def server() -> Iterator[TradingFakeServer]:
    s = TradingFakeServer(cash=10_000.0).start()
    s.set_price("AAPL", 100.0)
    try:
        yield s
    finally:
        s.stop()


def view_until(day: int, closes: list[float]) -> MarketView:
    index = pd.DatetimeIndex([pd.Timestamp(f"{d} 16:00", tz="America/New_York") for d in DAYS[: day + 1]])
    index = index.tz_convert("UTC").rename("ts")
    c = closes[: day + 1]
    frame = pd.DataFrame({"open": c, "high": c, "low": c, "close": c, "volume": [1e6] * len(c)}, index=index)
    view = MarketView({"AAPL": frame})
    view.seek_end()
    return view


def at(day: int) -> datetime:
    return pd.Timestamp(f"{DAYS[day]} 16:00", tz="America/New_York").tz_convert(UTC).to_pydatetime()


def engine_on(server: TradingFakeServer, tmp_path, strategy: Strategy) -> Engine:
    risk = RiskConfig(max_position_pct=1.0, stop_loss_pct=0.10, pdt_guard=False)
    # the bot's backup stop is on too: it must not be the one that sells
    return build_engine(
        EngineConfig(risk=risk, rebalance_band=0.0),
        run_id="r",
        strategy=strategy,
        broker=alpaca_broker(server),
        journal=Journal(tmp_path / "journal.sqlite"),
    )


def refusals(server: TradingFakeServer) -> list[str]:
    return [o["client_order_id"] for o in server.orders if o["status"] == "rejected"]


def stops_at_server(server: TradingFakeServer) -> list[tuple[int, float, str]]:
    return sorted(
        (int(o["qty"]), float(o["stop_price"]), o["time_in_force"])
        for o in server.open_orders_of("AAPL")
        if o["type"] == "stop" and o["status"] != "held"
    )


def test_the_broker_held_stop_outlives_the_entry_session_and_fills_on_day_3(server, tmp_path):
    strategy = Wants()
    strategy.weight = 0.5
    engine = engine_on(server, tmp_path, strategy)
    closes = [100.0, 100.0, 100.0, 100.0]
    engine.decide(at(0), view_until(0, closes))  # day 1: buy 50 with a stop at 90
    server.tick()
    assert server.holdings["AAPL"][0] == 50 and stops_at_server(server) == [(50, 90.0, "gtc")]
    server.expire_day_orders()  # day 1's close
    engine.decide(at(1), view_until(1, closes))
    server.expire_day_orders()  # day 2's close
    assert stops_at_server(server) == [(50, 90.0, "gtc")]  # still there on day 3
    server.set_price("AAPL", 88.0)  # day 3: the price falls through the stop
    assert "AAPL" not in server.holdings
    (leg,) = [o for o in server.orders if o["_parent"]]
    assert (leg["status"], leg["filled_avg_price"]) == (
        "filled",
        "88.0",
    )  # the broker's stop, not the bot's backup
    engine.decide(at(2), view_until(2, [100.0, 100.0, 88.0]))
    assert (
        engine.journal.query("SELECT COUNT(*) FROM decisions WHERE verdict = 'exit'")[0][0] == 0
    )  # no backup exit
    assert [
        o["client_order_id"] for o in server.orders if o["side"] == "sell" and o["status"] == "filled"
    ] == [leg["client_order_id"]]
    assert refusals(server) == []


def test_a_day_entry_s_stop_leg_would_expire_at_the_first_close(server):
    """The rule the GTC entry avoids: a leg takes its parent's time in force."""
    server.add_order(
        client_order_id="day-entry",
        symbol="AAPL",
        qty="10",
        side="buy",
        type="market",
        time_in_force="day",
        order_class="oto",
        stop_loss={"stop_price": "90"},
    )
    server.tick()
    assert stops_at_server(server) == [(10, 90.0, "day")]
    server.expire_day_orders()
    assert stops_at_server(server) == [] and server.holdings["AAPL"][0] == 10  # bare from the second day


def test_a_reduction_cancels_the_stop_sells_and_protects_what_is_left(server, tmp_path):
    strategy = Wants()
    strategy.weight = 0.5
    engine = engine_on(server, tmp_path, strategy)
    closes = [100.0, 100.0, 100.0, 100.0]
    engine.decide(at(0), view_until(0, closes))
    server.tick()
    strategy.weight = 0.2  # 50 -> 20 shares
    sent = engine.decide(at(1), view_until(1, closes))
    assert [(o.request.side, o.request.qty) for o in sent] == [("sell", 30)]
    server.tick()
    assert server.holdings["AAPL"][0] == 20
    assert stops_at_server(server) == [(20, 90.0, "gtc")]  # the remainder, at the old level
    assert refusals(server) == []  # no 403: the stop was cancelled (and confirmed) first
    journaled = engine.journal.query("SELECT client_order_id, status FROM orders ORDER BY rowid")
    assert any(r["client_order_id"].endswith("-stop") and r["status"] == "canceled" for r in journaled)
    strategy.weight = 0.0  # a full exit leaves nothing to protect
    engine.decide(at(2), view_until(2, closes))
    server.tick()
    assert "AAPL" not in server.holdings and server.open_orders_of("AAPL") == [] and refusals(server) == []


def test_adding_to_a_protected_long_is_not_a_wash_trade_and_ends_fully_protected(server, tmp_path):
    strategy = Wants()
    strategy.weight = 0.3
    engine = engine_on(server, tmp_path, strategy)
    closes = [100.0, 100.0, 100.0, 100.0]
    engine.decide(at(0), view_until(0, closes))
    server.tick()
    strategy.weight = 0.6  # 30 -> 60 shares at 100
    sent = engine.decide(at(1), view_until(1, closes))
    assert [(o.request.side, o.request.qty, o.status) for o in sent] == [("buy", 30, OrderStatus.NEW)]
    server.tick()
    assert server.holdings["AAPL"][0] == 60 and refusals(server) == []
    engine.decide(at(2), view_until(2, closes))  # the buy is done: the first 30 get their stop back
    assert stops_at_server(server) == [(30, 90.0, "gtc"), (30, 90.0, "gtc")]
    assert refusals(server) == []
