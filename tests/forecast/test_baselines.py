"""Baseline forecasts: what each predicts, that they fit on training data only, and no look-ahead."""

from __future__ import annotations

import numpy as np
import pytest

from bot.forecast.baselines import (
    LinearBaseline,
    MeanBaseline,
    PersistenceBaseline,
    ZeroBaseline,
    make_baselines,
)


def ar1(phi: float, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    eps = rng.normal(scale=0.01, size=n + 100)
    r = np.zeros_like(eps)
    for t in range(1, r.size):
        r[t] = phi * r[t - 1] + eps[t]
    return r[100:]  # burn-in: start near the stationary distribution


def windows(returns: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (n, window, 1), y = the next return, recent = the raw returns of each window."""
    n = returns.size - window
    recent = np.stack([returns[i : i + window] for i in range(n)])
    return recent[:, :, None].copy(), returns[window:].copy(), recent


def split(returns: np.ndarray, window: int, train_fraction: float = 0.7):
    X, y, recent = windows(returns, window)
    cut = int(len(y) * train_fraction)
    return (X[:cut], y[:cut], recent[:cut]), (X[cut:], y[cut:], recent[cut:])


def mse(baseline, train, test) -> float:
    baseline.fit(*train)
    pred = baseline.predict(test[0], test[2])
    return float(np.mean((pred - test[1]) ** 2))


def test_simple_baselines_hand_computed():
    recent = np.array([[1.0, 2.0, 3.0, 4.0], [0.0, -1.0, 2.0, -3.0]])
    X = recent[:, :, None]
    assert ZeroBaseline().predict(X).tolist() == [0.0, 0.0]
    assert PersistenceBaseline().predict(X, recent).tolist() == [4.0, -3.0]
    assert MeanBaseline(2).predict(X, recent).tolist() == [3.5, -0.5]
    assert MeanBaseline(4).predict(X, recent).tolist() == [2.5, -0.5]
    with pytest.raises(ValueError, match="m >= 5"):
        MeanBaseline(5).predict(X, recent)
    with pytest.raises(ValueError, match="recent_returns"):
        PersistenceBaseline().predict(X)


def test_make_baselines_names_and_defaults():
    baselines = make_baselines()
    assert list(baselines) == ["zero", "persistence", "mean", "linear"]
    assert baselines["mean"].k == 20
    assert all(b.name == name for name, b in baselines.items())


def test_persistence_beats_zero_on_persistent_ar1():
    # With phi = 0.5 persistence and zero tie in expectation (2(1 - phi) var = var), so the
    # series needs phi > 0.5 for persistence to win.
    train, test = split(ar1(0.7, 4000, seed=1), window=5)
    assert mse(PersistenceBaseline(), train, test) < 0.8 * mse(ZeroBaseline(), train, test)


def test_zero_beats_persistence_and_mean_on_random_walk():
    rng = np.random.default_rng(2)
    train, test = split(rng.normal(scale=0.01, size=4000), window=20)
    zero = mse(ZeroBaseline(), train, test)
    assert zero < 0.6 * mse(PersistenceBaseline(), train, test)  # expected ratio 1/2
    assert zero < mse(MeanBaseline(20), train, test)


def test_linear_recovers_ar1_coefficient():
    train, test = split(ar1(0.5, 5000, seed=3), window=5, train_fraction=1.0)
    model = LinearBaseline().fit(*train)
    coef = model.coefficients
    assert coef.shape == (5, 1)
    assert coef[-1, 0] == pytest.approx(0.5, abs=0.05)
    assert np.all(np.abs(coef[:-1, 0]) < 0.05)
    assert abs(model.intercept) < 1e-3
    # and it forecasts out of sample better than zero
    train, test = split(ar1(0.5, 5000, seed=4), window=5)
    assert mse(LinearBaseline(), train, test) < 0.85 * mse(ZeroBaseline(), train, test)


def test_linear_is_invariant_to_input_scale_and_uses_train_statistics():
    train, test = split(ar1(0.5, 1500, seed=5), window=4)
    X_tr, y_tr, _ = train
    X_te = test[0]
    base = LinearBaseline().fit(X_tr, y_tr).predict(X_te)
    scaled = LinearBaseline().fit(X_tr * 100 + 7, y_tr).predict(X_te * 100 + 7)
    np.testing.assert_allclose(base, scaled, rtol=1e-8, atol=1e-12)
    # a constant input column gets no weight instead of dividing by zero
    X_const = np.concatenate([X_tr, np.ones_like(X_tr)], axis=2)
    model = LinearBaseline().fit(X_const, y_tr)
    assert np.all(model.coefficients[:, 1] == 0)
    with pytest.raises(RuntimeError):
        LinearBaseline().predict(X_te)
    with pytest.raises(ValueError, match="shape"):
        model.predict(X_te)


@pytest.mark.parametrize("name", ["zero", "persistence", "mean", "linear"])
def test_no_look_ahead(name):
    train, test = split(ar1(0.5, 1200, seed=6), window=20)
    baseline = make_baselines()[name].fit(*train)
    X, _, recent = test
    before = baseline.predict(X, recent)
    k = len(before) // 2
    X2, recent2 = X.copy(), recent.copy()
    X2[k:] = 123.0  # later windows change wildly
    recent2[k:] = -5.0
    after = baseline.predict(X2, recent2)
    np.testing.assert_array_equal(before[:k], after[:k])
    # the fit itself depends on training data only: refitting after the test change is identical
    refit = make_baselines()[name].fit(*train).predict(X, recent)
    np.testing.assert_array_equal(before, refit)
