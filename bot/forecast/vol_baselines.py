"""The risk head's baselines: EWMA, HAR and GARCH(1,1) forecasts of the next bar's range variance.

Each is fitted on a fold's training samples only and forecasts the test samples from what was
known at each decision bar:

- **EWMA** (RiskMetrics, lambda 0.94): ``h_{t+1} = lambda h_t + (1 - lambda) v_t`` over the range
  variance; nothing is fitted. Seeded with the mean of the first 22 values, all of which lie in
  the warm-up before the first decision.
- **HAR** (Corsi 2009): OLS of the next range variance on the 1-, 5- and 22-bar means, pooled over
  the symbols, in levels as Corsi specifies; forecasts are floored at ``VARIANCE_FLOOR``.
- **GARCH(1,1)** with Student-t shocks and a constant mean, fitted per symbol by the ``arch``
  package (Sheppard; maintained, MLE with analytic recursions) on the training returns only, then
  filtered through the test returns with the parameters held fixed. GARCH models close-to-close
  returns, whose variance includes the overnight gap the range misses, so its forecasts are put on
  the range-variance scale with a ratio fitted on the training rows:
  ``mean(range variance) / mean(GARCH in-sample variance)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import structlog

from bot.forecast.range_variance import VARIANCE_FLOOR

log = structlog.get_logger(__name__)

EWMA_LAMBDA = 0.94
_SEED_BARS = 22


def ewma_forecast(values: np.ndarray, lam: float = EWMA_LAMBDA) -> np.ndarray:
    """Row t: the EWMA forecast for row t + 1 made with rows 0..t (``h_{t+1}``); NaN rows count as 0.

    Used for both the range variance and squared returns (the strategy's RiskMetrics fallback).
    """
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0)
    if len(v) == 0:
        return v
    # The recursion in plain Python, in the order scipy's lfilter([1 - lam], [1, -lam]) computes
    # it (so the same bits): importing scipy.signal alone took seconds of every evaluate.
    out = np.empty_like(v)
    weight, level = 1.0 - lam, lam * float(v[:_SEED_BARS].mean())
    for t, value in enumerate(v.tolist()):
        h = weight * value + level
        out[t] = h
        level = lam * h
    return np.maximum(out, VARIANCE_FLOOR)


class Har:
    """Pooled OLS of next range variance on (1, daily, weekly, monthly means)."""

    def __init__(self) -> None:
        self.coef = np.array([0.0, 1.0, 0.0, 0.0])

    @staticmethod
    def _design(har: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones(len(har)), har])

    def fit(self, har: np.ndarray, target: np.ndarray) -> Har:
        ok = np.isfinite(har).all(axis=1) & np.isfinite(target)
        if ok.sum() > 4:
            self.coef, *_ = np.linalg.lstsq(self._design(har[ok]), target[ok], rcond=None)
        return self

    def predict(self, har: np.ndarray) -> np.ndarray:
        pred = self._design(np.nan_to_num(har, nan=VARIANCE_FLOOR)) @ self.coef
        return np.maximum(np.nan_to_num(pred, nan=VARIANCE_FLOOR), VARIANCE_FLOOR)


def garch_forecasts(
    returns: np.ndarray,
    train_positions: np.ndarray,
    test_positions: np.ndarray,
    train_target: np.ndarray,
) -> np.ndarray:
    """GARCH(1,1)-t forecasts (range-variance scale) of the bars after ``test_positions``.

    ``returns`` is one symbol's whole log-return series (row = bar position; row 0 is NaN);
    ``train_positions`` the decision bars of its training samples (their targets
    ``train_target``); parameters are estimated on returns up to the last training target's bar.
    Falls back to the training mean of the target (a flat forecast, with a warning) when the
    optimiser fails or its forecasts are not finite.
    """
    from arch import arch_model

    r = np.nan_to_num(np.asarray(returns, dtype=np.float64), nan=0.0) * 100.0  # % returns: arch's scale
    last_train = int(train_positions.max()) + 1  # the last training target's bar
    fallback = np.full(len(test_positions), max(float(np.nanmean(train_target)), VARIANCE_FLOOR))
    model = arch_model(r[1:], mean="Constant", vol="GARCH", p=1, q=1, dist="t", rescale=False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter; a failed fit is caught below
            fit = model.fit(last_obs=last_train, disp="off", show_warning=False)
            # row i of r[1:] is bar i + 1; forecasts from row p - 1 are for bar p + 1
            start = int(test_positions.min()) - 1
            forecast = fit.forecast(horizon=1, start=start, reindex=False).variance.to_numpy()[:, 0]
    except Exception as exc:  # noqa: BLE001 - any optimiser failure: the flat fallback is honest enough
        log.warning("garch_fit_failed", error=f"{type(exc).__name__}: {exc}", fallback="training mean")
        return fallback
    in_sample = np.asarray(fit.conditional_volatility, dtype=np.float64) ** 2  # row i: bar i + 1
    fitted = in_sample[np.asarray(train_positions, dtype=np.int64)]  # variance of bar p + 1 given p
    ok = np.isfinite(fitted) & np.isfinite(train_target) & (fitted > 0)
    if ok.sum() < 2 or not np.isfinite(forecast).all():
        log.warning(
            "garch_fit_failed", error="no usable in-sample or forecast variance", fallback="training mean"
        )
        return fallback
    scale = float(np.mean(train_target[ok]) / np.mean(fitted[ok]))
    values = forecast[np.asarray(test_positions, dtype=np.int64) - 1 - start] * scale
    return np.maximum(np.nan_to_num(values, nan=fallback[0]), VARIANCE_FLOOR)


def garch_by_symbol(
    returns: Mapping[str, np.ndarray],
    train_symbols: np.ndarray,
    train_positions: np.ndarray,
    train_target: np.ndarray,
    test_symbols: np.ndarray,
    test_positions: np.ndarray,
) -> np.ndarray:
    """``garch_forecasts`` for every symbol of a test set, aligned with the test samples."""
    out = np.full(len(test_positions), np.nan)
    for symbol in np.unique(test_symbols):
        test_mask = test_symbols == symbol
        train_mask = train_symbols == symbol
        if train_mask.sum() < 50:  # too little history to estimate four parameters
            out[test_mask] = max(float(np.nanmean(train_target)), VARIANCE_FLOOR)
            continue
        out[test_mask] = garch_forecasts(
            returns[symbol], train_positions[train_mask], test_positions[test_mask], train_target[train_mask]
        )
    return out
