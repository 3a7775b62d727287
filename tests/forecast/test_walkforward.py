"""Honesty on data whose truth is known: a random walk shows no skill, an AR(1) series does."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from bot.config import ModelConfig
from bot.errors import DataError
from bot.forecast.features import build_dataset
from bot.forecast.walkforward import fold_indices, walk_forward

TINY = ModelConfig(
    features=("ret", "range", "rel_volume"),
    window=8,
    volume_window=5,
    units=8,
    layers=1,
    dropout=0.0,
    learning_rate=0.01,
    epochs=12,
    batch_size=128,
    patience=3,
    validation_fraction=0.2,
    seed=3,
    train_bars=700,
    test_bars=700,
    expanding=True,
)


def bars_from_returns(returns: np.ndarray, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0, 0.004, len(close))) + 1e-4
    index = pd.date_range("2000-01-03", periods=len(close), freq="B", tz="America/New_York").tz_convert("UTC")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * (1 + spread),
            "low": np.minimum(open_, close) * (1 - spread),
            "close": close,
            "volume": rng.lognormal(12, 0.3, len(close)),
        },
        index=index.rename("ts"),
    )


def ar1(n: int, phi: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    eps = rng.normal(0, 0.01, n)
    r = np.zeros(n)
    for t in range(1, n):
        r[t] = phi * r[t - 1] + eps[t]
    return r


@pytest.fixture(scope="module")
def random_walk_summary():
    returns = np.random.default_rng(11).normal(0, 0.01, 2200)
    data = build_dataset(
        {"RW": bars_from_returns(returns, 1)}, TINY.features, TINY.window, TINY.volume_window
    )
    return walk_forward(data, TINY).summary()


def test_random_walk_shows_no_skill(random_walk_summary):
    s = random_walk_summary
    assert s["n_test"] >= 1400
    assert abs(s["model"]["directional_accuracy"] - 0.5) <= 0.03
    assert s["dm_pvalue"] > 0.05  # no significant gain over the zero-return forecast
    assert set(s["baselines"]) == {"zero", "persistence", "mean", "linear"}
    for name in ("model", "zero", "persistence", "mean", "linear"):
        metrics = s["model"] if name == "model" else s["baselines"][name]
        assert {"rmse", "mae", "directional_accuracy"} <= set(metrics)


def test_ar1_is_learned_and_beats_zero_significantly():
    returns = ar1(2200, 0.4, seed=5)
    data = build_dataset(
        {"AR": bars_from_returns(returns, 2)}, TINY.features, TINY.window, TINY.volume_window
    )
    s = walk_forward(data, TINY).summary()
    assert s["model"]["rmse"] < s["baselines"]["zero"]["rmse"]
    assert s["dm_pvalue"] < 0.01 and s["pt_pvalue"] < 0.01
    assert s["model"]["directional_accuracy"] > 0.55
    assert s["mse_improvement_vs_zero"] > 0.05


def test_folds_never_test_on_training_times():
    returns = np.random.default_rng(3).normal(0, 0.01, 400)
    config = dataclasses.replace(TINY, train_bars=200, test_bars=50, expanding=False)
    data = build_dataset(
        {"A": bars_from_returns(returns, 3), "B": bars_from_returns(returns[::-1], 4)},
        config.features,
        config.window,
        config.volume_window,
    )
    folds = fold_indices(data, config)
    assert len(folds) >= 3
    for train, test in folds:
        assert data.ts[train].max() < data.ts[test].min()  # test strictly after training
        assert len(np.unique(data.ts.asi8[train])) == 200  # rolling window of train_bars times
        assert data.labelled[test].all()


def test_too_little_data_for_one_fold_is_a_clear_error():
    returns = np.random.default_rng(3).normal(0, 0.01, 300)
    data = build_dataset({"A": bars_from_returns(returns, 3)}, TINY.features, TINY.window, TINY.volume_window)
    with pytest.raises(DataError, match="too few for one walk-forward fold"):
        fold_indices(data, TINY)


def test_the_same_seed_gives_the_same_folds_with_trainers_reused_or_fresh():
    """Fold after fold refits one reused trainer per head; rerunning the walk-forward on those warm
    trainers, or on fresh ones, must give the very same forecasts of both heads."""
    from bot.forecast.lstm import release_trainers

    config = dataclasses.replace(
        TINY, epochs=2, train_bars=300, test_bars=150, dropout=0.1, risk_features=("log_rv", "ret")
    )
    returns = ar1(720, 0.3, seed=8)
    frames = {"A": bars_from_returns(returns, 5), "B": bars_from_returns(returns[::-1], 6)}
    data = build_dataset(
        frames, ("ret", "range", "rel_volume", "log_rv"), config.window, config.volume_window
    )
    release_trainers()
    first = walk_forward(data, config)
    warm = walk_forward(data, config)  # every fit on a trainer that already fitted other folds
    release_trainers()
    cold = walk_forward(data, config)
    assert len(first.folds) >= 2 and first.vol_predictions
    for other in (warm, cold):
        np.testing.assert_array_equal(first.predictions["model"], other.predictions["model"])
        np.testing.assert_array_equal(first.vol_predictions["model"], other.vol_predictions["model"])
    assert [f.metrics["epochs"] for f in first.folds] == [f.metrics["epochs"] for f in cold.folds]
