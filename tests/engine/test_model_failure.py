"""A model that fails in the daemon halts entries with one log line; exits and reductions go on.

A simulation lets the failure raise instead: a run that silently lost its model would report
figures that are not the model's."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from structlog.testing import capture_logs

from bot.broker.base import OrderRequest, Side
from bot.broker.sim import SimBroker
from bot.config import RiskConfig
from bot.engine.builder import EngineConfig, build_engine
from bot.engine.engine import Engine
from bot.engine.market import MarketView
from bot.journal.store import Journal
from strategies.base import Strategy


class Wants(Strategy):
    """Whatever weight the test sets."""

    name = "wants"

    def __init__(self) -> None:
        super().__init__(["X", "Y"], 1.0)
        self.weights: dict[str, float] = {}

    def targets(self, view, forecasts=None, risk=None) -> dict[str, float]:
        return dict(self.weights)


class BrokenForecaster:
    """Works ``good`` times, then raises as a model with a damaged state would."""

    model_id = "m-1"

    def __init__(self, good: int) -> None:
        self.good = good
        self.calls = 0

    def forecasts(self, view) -> dict[str, float]:
        self.calls += 1
        if self.calls > self.good:
            raise ValueError("weights do not match the window")
        return {"X": 0.001}

    def volatility(self, view) -> dict[str, float]:
        return {}


def _view(day: int) -> MarketView:
    index = pd.date_range("2024-01-02 05:00", periods=day, freq="D", tz="UTC", name="ts")
    closes = [100.0] * day
    frames = {
        s: pd.DataFrame(
            {"open": closes, "high": closes, "low": closes, "close": closes, "volume": [1.0] * day},
            index=index,
        )
        for s in ("X", "Y")
    }
    view = MarketView(frames)
    view.seek_end()
    return view


def _engine(tmp_path, contain: bool) -> tuple[Engine, Wants, SimBroker]:
    broker = SimBroker(initial_cash=10_000, symbols=["X", "Y"])
    broker.submit(OrderRequest("outside", "X", Side.BUY, 40))
    broker.on_bars(datetime(2024, 1, 2, 5, tzinfo=UTC), {s: (100.0, 100.0, 100.0, 100.0, 1.0) for s in "XY"})
    strategy = Wants()
    risk = RiskConfig(
        max_position_pct=1.0, stop_loss_pct=0.0
    )  # no stop orders beside the entries counted here
    engine = build_engine(
        EngineConfig(risk=risk, rebalance_band=0.0, contain_model_failures=contain),
        run_id="r",
        strategy=strategy,
        broker=broker,
        journal=Journal(tmp_path / "journal.sqlite"),
        forecaster=BrokenForecaster(good=1),
    )
    return engine, strategy, broker


def test_a_failing_model_halts_entries_once_and_lets_reductions_through(tmp_path):
    engine, strategy, _ = _engine(tmp_path, contain=True)
    strategy.weights = {"Y": 0.2}
    first = engine.decide(datetime(2024, 1, 3, 21, tzinfo=UTC), _view(2))
    assert [(o.symbol, o.request.side) for o in first] == [("Y", Side.BUY)]  # the model still worked
    strategy.weights = {"X": 0.1, "Y": 0.5}  # X: reduce 40 -> 10; Y: a new entry
    with capture_logs() as logs:
        sent = [engine.decide(datetime(2024, 1, 3 + k, 21, tzinfo=UTC), _view(2 + k)) for k in range(1, 4)]
    assert [(o.symbol, o.request.side, o.request.qty) for o in sent[0]] == [("X", Side.SELL, 30)]
    assert sent[1] == [] or all(o.request.side is Side.SELL for o in sent[1])
    failures = [e for e in logs if e["event"] == "model_unusable_entries_halted"]
    assert len(failures) == 1 and failures[0]["log_level"] == "error"
    assert "ValueError: weights do not match the window" in failures[0]["reason"]
    assert engine.forecaster is None and "m-1 unusable" in engine.entries_halted
    assert engine.verdicts["deny:model_unusable"] == 3  # Y's entry, refused at each of the three steps
    rows = engine.journal.query("SELECT COUNT(*) FROM predictions")[0][0]
    assert rows == 1  # only the step before the failure predicted


def test_a_simulation_lets_the_model_failure_raise(tmp_path):
    engine, strategy, _ = _engine(tmp_path, contain=False)
    engine.decide(datetime(2024, 1, 3, 21, tzinfo=UTC), _view(2))
    with pytest.raises(ValueError, match="weights do not match"):
        engine.decide(datetime(2024, 1, 4, 21, tzinfo=UTC), _view(3))
