"""The market view's rolling means: bit for bit NumPy's mean of the last n values, O(1) a step,
and causal (the value at a step is the same whether or not later bars exist)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.engine.market import MarketView


def _frame(closes: np.ndarray) -> pd.DataFrame:
    index = pd.date_range("2020-01-01", periods=len(closes), freq="D", tz="UTC", name="ts")
    return pd.DataFrame(
        {"open": closes, "high": closes * 1.01, "low": closes * 0.99, "close": closes, "volume": 1.0},
        index=index,
    )


@pytest.mark.parametrize("n", [1, 2, 5, 10, 20, 129, 200])
def test_rolling_mean_is_the_slice_mean_bit_for_bit_at_every_step(n):
    closes = np.random.default_rng(n).lognormal(4, 0.5, 400)
    view = MarketView({"X": _frame(closes)})
    for _ in range(len(view)):
        view.advance()
        visible = view.closes("X")
        got = view.rolling_mean("X", n)
        if len(visible) < n:
            assert got is None
        else:
            assert got == visible[-n:].mean()  # exactly equal, not approximately


def test_rolling_mean_does_not_see_later_bars():
    closes = np.random.default_rng(1).lognormal(4, 0.5, 120)
    full, cut = MarketView({"X": _frame(closes)}), MarketView({"X": _frame(closes[:60])})
    for _ in range(60):
        full.advance()
        cut.advance()
        assert full.rolling_mean("X", 10) == cut.rolling_mean("X", 10)
    assert full.rolling_mean("X", 10) == closes[50:60].mean()


def test_a_symbol_that_starts_late_has_no_mean_until_it_has_n_bars():
    closes = np.arange(1.0, 31.0)
    late = _frame(closes[:10]).set_axis(_frame(closes).index[20:], axis=0)
    view = MarketView({"X": _frame(closes), "Y": late})
    means = []
    for _ in range(len(view)):
        view.advance()
        means.append(view.rolling_mean("Y", 5))
    assert means[:24] == [None] * 24
    assert means[24:] == [np.mean(closes[k - 4 : k + 1]) for k in range(4, 10)]


def test_sell_stop_floors_say_where_the_simulated_broker_fills_a_sell_stop():
    """``floor <= level`` at a step exactly when ``sim_trigger.trigger`` fills a sell stop at
    ``level`` on the bar starting then (opens above and below the low, gaps, steps without a bar)."""
    from bot.broker.base import OrderRequest, OrderType, Side
    from bot.broker.sim_trigger import trigger

    rng = np.random.default_rng(3)
    closes = rng.lognormal(4, 0.3, 300)
    frame = _frame(closes)
    frame["open"] = closes * rng.uniform(0.97, 1.03, len(closes))  # some opens below the low
    other = _frame(closes[::3]).set_axis(frame.index[::3] + pd.Timedelta(hours=1))
    view = MarketView({"X": frame.iloc[rng.random(len(frame)) < 0.8], "Y": other})  # X has gaps
    floors = view.sell_stop_floors("X")
    assert len(floors) == len(view)
    for level in np.quantile(closes, [0.05, 0.3, 0.5, 0.9]):
        request = OrderRequest("s", "X", Side.SELL, 1, type=OrderType.STOP, stop_price=float(level))
        for step in range(len(view)):
            bar = view.bar_starting("X", step)
            fills = bar is not None and trigger(request, bar[0], bar[1], bar[2]) is not None
            assert (floors[step] <= level) == fills
