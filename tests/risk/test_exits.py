"""The bot's own protective exits: take-profit and trailing stop in whole simulations on tiny
hand-made markets (hand-computed fills), and the backup stop for a position whose broker stop is
missing."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from test_scenarios import _config, _simulate

from bot.broker.base import OrderRequest, Side
from bot.broker.sim import SimBroker
from bot.config import RiskConfig
from bot.engine.builder import EngineConfig, build_engine
from bot.engine.engine import Engine
from bot.engine.market import MarketView
from bot.journal.store import Journal
from strategies.buy_and_hold import BuyAndHold


def exit_rows(config) -> list[tuple]:
    with Journal(config.resolve(config.journal.path)) as journal:
        return [
            (r["ts"][:10], r["rule"]) for r in journal.query("SELECT * FROM decisions WHERE verdict = 'exit'")
        ]


def test_take_profit_exits_at_the_next_open_and_re_enters_the_next_day(tmp_path):
    # bought 50 at the Jan 3 open (100); Jan 4 closes at 111 >= 100 x 1.10: sell 50 at the Jan 5
    # open (111), +550; Jan 5 is a new day, so buy and hold buys again, at the Jan 8 open (110)
    bars = [
        ("2024-01-02", 100, 100, 100, 100),
        ("2024-01-03", 100, 101, 99, 100),
        ("2024-01-04", 105, 112, 104, 111),
        ("2024-01-05", 111, 111, 109, 110),
        ("2024-01-08", 110, 110, 110, 110),
    ]
    config = _config(tmp_path, "take_profit_pct = 0.10", bars)
    result = _simulate(config)
    assert [(f.side, f.qty, f.price, f.ts.date().isoformat()) for f in result.fills] == [
        (Side.BUY, 50, 100.0, "2024-01-03"),
        (Side.SELL, 50, 111.0, "2024-01-05"),
        (Side.BUY, int(10_550 * 0.5 // 110), 110.0, "2024-01-08"),
    ]
    assert exit_rows(config) == [("2024-01-04", "take_profit")]


def test_a_trailing_stop_exits_below_the_peak_and_blocks_re_entry_that_day(tmp_path):
    # peak close 120 on Jan 4; Jan 5 closes at 107 <= 120 x 0.9 = 108: sell at the Jan 8 open (107)
    bars = [
        ("2024-01-02", 100, 100, 100, 100),
        ("2024-01-03", 100, 101, 99, 100),
        ("2024-01-04", 110, 121, 109, 120),
        ("2024-01-05", 119, 119, 106, 107),
        ("2024-01-08", 107, 107, 107, 107),
    ]
    config = _config(tmp_path, "trailing_stop_pct = 0.10", bars)
    result = _simulate(config)
    sells = [(f.qty, f.price, f.ts.date().isoformat()) for f in result.fills if f.side is Side.SELL]
    assert sells == [(50, 107.0, "2024-01-08")]
    assert exit_rows(config) == [("2024-01-05", "trailing_stop")]
    assert result.equity["equity"].iloc[-1] == 10_000 + 50 * (107 - 100)


def _engine(tmp_path, broker: SimBroker, risk: RiskConfig) -> tuple[Engine, Journal]:
    journal = Journal(tmp_path / "journal.sqlite")
    engine = build_engine(
        EngineConfig(risk=risk, rebalance_band=0.25),
        run_id="r",
        strategy=BuyAndHold(["X"], 0.5),
        broker=broker,
        journal=journal,
    )
    return engine, journal


def _view(closes: list[float]) -> MarketView:
    index = pd.date_range("2024-01-02 05:00", periods=len(closes), freq="D", tz="UTC", name="ts")
    frame = pd.DataFrame(
        {"open": closes, "high": closes, "low": closes, "close": closes, "volume": [1.0] * len(closes)},
        index=index,
    )
    view = MarketView({"X": frame})
    view.seek_end()
    return view


def test_the_backup_stop_sells_a_position_whose_broker_stop_is_missing(tmp_path):
    broker = SimBroker(initial_cash=10_000, symbols=["X"])
    broker.submit(OrderRequest("outside", "X", Side.BUY, 40))  # no protective stop at the broker
    broker.on_bars(datetime(2024, 1, 3, 5, tzinfo=UTC), {"X": (100.0, 100.0, 100.0, 100.0, 1.0)})
    broker.on_bars(datetime(2024, 1, 4, 5, tzinfo=UTC), {"X": (85.0, 85.0, 85.0, 85.0, 1.0)})
    engine, journal = _engine(tmp_path, broker, RiskConfig(max_position_pct=1.0, stop_loss_pct=0.10))
    sent = engine.decide(datetime(2024, 1, 4, 21, tzinfo=UTC), _view([100.0, 100.0, 85.0]))
    assert [(o.request.side, o.request.qty) for o in sent] == [(Side.SELL, 40)]
    rows = journal.query("SELECT rule FROM decisions WHERE verdict = 'exit'")
    assert [r["rule"] for r in rows] == ["stop_loss_backup"]


def test_no_backup_exit_while_the_broker_holds_a_stop(tmp_path):
    broker = SimBroker(initial_cash=10_000, symbols=["X"])
    broker.submit(OrderRequest("entry", "X", Side.BUY, 40, protective_stop=80.0))
    broker.on_bars(datetime(2024, 1, 3, 5, tzinfo=UTC), {"X": (100.0, 100.0, 100.0, 100.0, 1.0)})
    broker.on_bars(datetime(2024, 1, 4, 5, tzinfo=UTC), {"X": (85.0, 85.0, 85.0, 85.0, 1.0)})
    assert any(o.protective for o in broker.open_orders())
    engine, journal = _engine(tmp_path, broker, RiskConfig(max_position_pct=1.0, stop_loss_pct=0.10))
    sent = engine.decide(datetime(2024, 1, 4, 21, tzinfo=UTC), _view([100.0, 100.0, 85.0]))
    assert not [o for o in sent if o.request.side is Side.SELL]
    assert journal.query("SELECT COUNT(*) FROM decisions WHERE verdict = 'exit'")[0][0] == 0
