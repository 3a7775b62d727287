"""Baseline forecasts of the next bar's log return, the bar a model has to beat.

Every baseline has one interface:

| call | contract |
|---|---|
| ``fit(X, y, recent_returns)`` | learn from **training** windows only; returns ``self`` |
| ``predict(X, recent_returns)`` | one forecast per window; row i depends on row i's inputs only |

Inputs, for n windows:

- ``X``: float array ``(n, window, n_features)``, the same (scaled) windows the model sees; the
  last step of a window is bar t, the bar whose close the forecast is made at.
- ``y``: float array ``(n,)``, the realised log return from t to t+1 (training only).
- ``recent_returns``: float array ``(n, m)``, the **unscaled** log returns inside each window,
  oldest first, last column the return that ends at bar t (``m`` is usually ``window``).

| name | needs | forecast |
|---|---|---|
| ``zero`` | ``X`` (only its length) | 0.0 - the efficient-market, random-walk forecast |
| ``persistence`` | ``recent_returns`` | the return ending at t |
| ``mean`` | ``recent_returns`` with ``m >= k`` | mean of the last ``k`` returns up to t |
| ``linear`` | ``X``, ``y`` to fit | ridge regression on flattened windows, intercept unpenalised |
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


def _windows(X: np.ndarray | None) -> np.ndarray:
    arr = np.asarray(X, dtype=float)
    if arr.ndim != 3:
        raise ValueError(f"X must have shape (n, window, n_features), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("X contains NaN or infinite values")
    return arr


def _recent(recent_returns: np.ndarray | None, needed: int, who: str) -> np.ndarray:
    if recent_returns is None:
        raise ValueError(f"the {who} baseline needs recent_returns of shape (n, m)")
    arr = np.asarray(recent_returns, dtype=float)
    if arr.ndim != 2 or arr.shape[1] < needed:
        raise ValueError(
            f"the {who} baseline needs recent_returns of shape (n, m >= {needed}), got {arr.shape}"
        )
    if not np.isfinite(arr[:, -needed:]).all():
        raise ValueError(f"recent_returns used by the {who} baseline contain NaN or infinite values")
    return arr


class Baseline(ABC):
    """A forecast of the next bar's log return; see the module docstring for the inputs."""

    name: str = ""

    def fit(
        self, X: np.ndarray | None, y: np.ndarray | None, recent_returns: np.ndarray | None = None
    ) -> Baseline:
        """Learn from training windows only. Parameter-free baselines just return ``self``."""
        return self

    @abstractmethod
    def predict(self, X: np.ndarray | None, recent_returns: np.ndarray | None = None) -> np.ndarray:
        """Forecasts, shape ``(n,)``."""


class ZeroBaseline(Baseline):
    """Always 0.0: under a random walk no forecast has a lower expected squared error."""

    name = "zero"

    def predict(self, X: np.ndarray | None, recent_returns: np.ndarray | None = None) -> np.ndarray:
        if X is None and recent_returns is None:
            raise ValueError("the zero baseline needs X or recent_returns to know how many forecasts to make")
        return np.zeros(len(X if X is not None else recent_returns))  # type: ignore[arg-type]


class PersistenceBaseline(Baseline):
    """The last observed return: tomorrow repeats today (momentum at lag 1)."""

    name = "persistence"

    def predict(self, X: np.ndarray | None, recent_returns: np.ndarray | None = None) -> np.ndarray:
        return _recent(recent_returns, 1, self.name)[:, -1].copy()


class MeanBaseline(Baseline):
    """The mean of the last ``k`` returns up to and including t (a causal rolling mean)."""

    name = "mean"

    def __init__(self, k: int = 20) -> None:
        if k < 1:
            raise ValueError(f"the mean baseline needs k >= 1, got {k}")
        self.k = k

    def predict(self, X: np.ndarray | None, recent_returns: np.ndarray | None = None) -> np.ndarray:
        return _recent(recent_returns, self.k, self.name)[:, -self.k :].mean(axis=1)


class LinearBaseline(Baseline):
    """Ridge regression of y on the flattened window (window * n_features inputs).

    Each input column is standardised with the **training** mean and std (a constant column is
    left at 0 and so carries no weight), y is centred on its training mean (the intercept, not
    penalised), and the coefficients minimise ``mean((y - y_mean - Z b)^2) + alpha * |b|^2``.
    ``alpha`` is on the scale of standardised inputs, so a small value (default 1e-3) only
    steadies a near-singular fit without shrinking real signal. ``coefficients`` and
    ``intercept`` give the fit in the original units of X.
    """

    name = "linear"

    def __init__(self, alpha: float = 1e-3) -> None:
        if not alpha >= 0:
            raise ValueError(f"the linear baseline needs alpha >= 0, got {alpha}")
        self.alpha = alpha
        self._shape: tuple[int, int] | None = None

    def fit(
        self, X: np.ndarray | None, y: np.ndarray | None, recent_returns: np.ndarray | None = None
    ) -> Baseline:
        windows = _windows(X)
        target = np.asarray(y, dtype=float)
        n = windows.shape[0]
        if target.shape != (n,) or n < 2:
            raise ValueError(f"the linear baseline needs y of shape ({n},) and n >= 2, got {target.shape}")
        if not np.isfinite(target).all():
            raise ValueError("y contains NaN or infinite values")
        flat = windows.reshape(n, -1)
        self._mean = flat.mean(axis=0)
        std = flat.std(axis=0)
        self._std = np.where(std > 0, std, 1.0)
        z = (flat - self._mean) / self._std
        self._y_mean = float(target.mean())
        gram = z.T @ z / n + self.alpha * np.eye(z.shape[1])
        rhs = z.T @ (target - self._y_mean) / n
        try:
            self._beta = np.linalg.solve(gram, rhs)
        except np.linalg.LinAlgError:  # alpha = 0 with collinear inputs: take the minimum-norm fit
            self._beta = np.linalg.lstsq(gram, rhs, rcond=None)[0]
        self._shape = windows.shape[1:]  # type: ignore[assignment]
        return self

    def predict(self, X: np.ndarray | None, recent_returns: np.ndarray | None = None) -> np.ndarray:
        if self._shape is None:
            raise RuntimeError("the linear baseline must be fitted before predict")
        windows = _windows(X)
        if windows.shape[1:] != self._shape:
            raise ValueError(f"X windows have shape {windows.shape[1:]}, the fit used {self._shape}")
        z = (windows.reshape(windows.shape[0], -1) - self._mean) / self._std
        return self._y_mean + z @ self._beta

    @property
    def coefficients(self) -> np.ndarray:
        """Slopes in the original units of X, shape ``(window, n_features)``."""
        if self._shape is None:
            raise RuntimeError("the linear baseline must be fitted first")
        return (self._beta / self._std).reshape(self._shape)

    @property
    def intercept(self) -> float:
        """Forecast when every input is 0, in the original units."""
        return float(self._y_mean - np.sum(self._beta / self._std * self._mean))


def make_baselines(mean_k: int = 20, ridge_alpha: float = 1e-3) -> dict[str, Baseline]:
    """A fresh, unfitted instance of every baseline, keyed by name (zero, persistence, mean, linear)."""
    baselines: list[Baseline] = [
        ZeroBaseline(),
        PersistenceBaseline(),
        MeanBaseline(mean_k),
        LinearBaseline(ridge_alpha),
    ]
    return {b.name: b for b in baselines}
