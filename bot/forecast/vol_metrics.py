"""How good a variance forecast is: QLIKE, RMSE of log variance, Mincer-Zarnowitz R^2, and a
Diebold-Mariano test on QLIKE.

- QLIKE (Patton 2011): ``v/h - ln(v/h) - 1`` per bar, >= 0 and 0 only for a perfect forecast. It is
  robust to noise in the variance proxy ``v`` (it ranks forecasts as the true variance would) and
  punishes under-prediction of risk more than over-prediction, which is the costly mistake when
  sizing positions.
- RMSE of ``ln h - ln v``.
- Mincer-Zarnowitz R^2: of the OLS regression ``v = a + b h``, in levels.
- Diebold-Mariano on the QLIKE differential. A pooled panel has many symbols per day whose losses
  move together, so the differential is first averaged over the symbols of each decision time and
  the test runs on that time series: treating the symbols as independent would overstate
  significance.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from bot.forecast.range_variance import VARIANCE_FLOOR
from bot.forecast.stats import diebold_mariano_losses


def qlike(realised: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """Per-bar QLIKE loss (both arrays floored at ``VARIANCE_FLOOR``)."""
    ratio = np.maximum(realised, VARIANCE_FLOOR) / np.maximum(forecast, VARIANCE_FLOOR)
    return ratio - np.log(ratio) - 1.0


def variance_metrics(realised: np.ndarray, forecast: np.ndarray) -> dict[str, float | None]:
    """``qlike`` (mean), ``rmse_log`` and ``mz_r2`` of one forecast."""
    v = np.maximum(np.asarray(realised, dtype=np.float64), VARIANCE_FLOOR)
    h = np.maximum(np.asarray(forecast, dtype=np.float64), VARIANCE_FLOOR)
    if len(v) == 0:
        return {"qlike": None, "rmse_log": None, "mz_r2": None}
    mz = None
    if len(v) > 2 and np.std(h) > 0 and np.std(v) > 0:
        mz = float(np.corrcoef(h, v)[0, 1] ** 2)  # R^2 of a one-regressor OLS = squared correlation
    return {
        "qlike": float(qlike(v, h).mean()),
        "rmse_log": float(np.sqrt(np.mean((np.log(h) - np.log(v)) ** 2))),
        "mz_r2": mz,
    }


def dm_qlike(
    realised: np.ndarray, model: np.ndarray, baseline: np.ndarray, times: np.ndarray
) -> float | None:
    """One-sided DM p-value (H1: ``model`` has lower QLIKE than ``baseline``), per-time averaged."""
    diff = pd.Series(qlike(realised, model) - qlike(realised, baseline)).groupby(np.asarray(times)).mean()
    if len(diff) < 3:
        return None
    _, p = diebold_mariano_losses(diff.to_numpy(), np.zeros(len(diff)))
    return float(p)


def volatility_summary(
    realised: np.ndarray, forecasts: Mapping[str, np.ndarray], times: np.ndarray, margin: float
) -> dict:
    """The ``volatility`` block of ``evaluate --json``: the model's and the baselines' metrics,
    DM p-values against EWMA and HAR, and the gate (QLIKE below EWMA's by more than ``margin``)."""
    metrics = {name: variance_metrics(realised, pred) for name, pred in forecasts.items()}
    model, ewma = metrics["model"]["qlike"], metrics["ewma"]["qlike"]
    improvement = (1.0 - model / ewma) if model is not None and ewma else None
    p_ewma = dm_qlike(realised, forecasts["model"], forecasts["ewma"], times)
    p_har = dm_qlike(realised, forecasts["model"], forecasts["har"], times)
    active = improvement is not None and improvement > margin
    reason = (
        "no out-of-sample QLIKE could be measured"
        if improvement is None
        else f"out-of-sample QLIKE {model:.4f} vs EWMA {ewma:.4f} ({improvement:+.2%}, needed more than "
        f"{margin:+.2%}); DM p = {_p(p_ewma)} vs EWMA, {_p(p_har)} vs HAR (QLIKE {metrics['har']['qlike']:.4f})"
    )
    return {
        "model": metrics["model"],
        "baselines": {name: metrics[name] for name in ("ewma", "har", "garch") if name in metrics},
        "qlike_improvement_vs_ewma": improvement,
        "dm_pvalue_vs_ewma": p_ewma,
        "dm_pvalue_vs_har": p_har,
        "gate": "active" if active else "rejected",
        "reason": ("beats EWMA: " if active else "does not beat EWMA: ") + reason,
    }


def _p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"
