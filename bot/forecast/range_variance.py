"""The risk head's target and inputs: a range-based (Garman-Klass) variance of each bar.

Garman-Klass (1980): ``0.5 * ln(H/L)^2 - (2 ln 2 - 1) * ln(C/O)^2``. With O and C inside [L, H]
(``|ln C/O| <= ln H/L``) it is never below ``0.114 * ln(H/L)^2``, so it is >= 0, and 0 only for a
bar whose high equals its low (a halted or untraded bar). Such a bar's log variance would be
-inf, so every value is floored at ``VARIANCE_FLOOR``: a 1-basis-point move per bar, squared
(1e-8). That is far below any real daily variance (a calm large-cap day is ~1e-4) and below most
minute bars' (~1e-7), so the floor only ever replaces "no range at all". The target is modelled on
the log scale, where the floor keeps every value finite.

The range variance measures the trading session only: it leaves out the overnight gap between the
previous close and the open. Sizing needs the close-to-close variance, so a forecast is converted
with a per-symbol ratio ``mean(r^2) / mean(range variance)`` fitted on training rows
(``return_variance_ratio``).

HAR inputs (Corsi 2009) are the means of the range variance over the last 1, 5 and 22 bars,
each ending at the decision bar (causal): ``log_rv``, ``log_rv_w``, ``log_rv_m`` (their logs).
"""

from __future__ import annotations

import numpy as np

VARIANCE_FLOOR = 1e-8
HAR_LAGS = {"log_rv": 1, "log_rv_w": 5, "log_rv_m": 22}
_GK_CLOSE = 2.0 * np.log(2.0) - 1.0


def garman_klass(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """Per-bar Garman-Klass variance, floored at ``VARIANCE_FLOOR`` (finite for any positive prices).

    Open or close outside [low, high] (bad vendor bars) is clipped into the range first, which
    keeps the estimate non-negative.
    """
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    o = np.clip(np.asarray(open_, dtype=np.float64), low, high)
    c = np.clip(np.asarray(close, dtype=np.float64), low, high)
    with np.errstate(divide="ignore", invalid="ignore"):
        hl = np.log(high / low)
        co = np.log(c / o)
        value = 0.5 * hl * hl - _GK_CLOSE * co * co
    return np.where(np.isfinite(value), np.maximum(value, VARIANCE_FLOOR), np.nan)


def trailing_mean(values: np.ndarray, lag: int) -> np.ndarray:
    """Mean of the last ``lag`` values ending at each row (NaN until ``lag`` rows exist)."""
    v = np.asarray(values, dtype=np.float64)
    out = np.full(len(v), np.nan)
    if len(v) >= lag:
        prefix = np.concatenate([[0.0], np.cumsum(v)])
        out[lag - 1 :] = (prefix[lag:] - prefix[:-lag]) / lag
    return out


def har_features(variance: np.ndarray) -> dict[str, np.ndarray]:
    """``log_rv``, ``log_rv_w``, ``log_rv_m``: logs of the 1-, 5- and 22-bar trailing means."""
    return {name: np.log(trailing_mean(variance, lag)) for name, lag in HAR_LAGS.items()}


def next_variance(variance: np.ndarray) -> np.ndarray:
    """The risk target at each row: the NEXT bar's range variance (NaN for the last row)."""
    v = np.asarray(variance, dtype=np.float64)
    return np.append(v[1:], np.nan)


def return_variance_ratio(next_return: np.ndarray, next_range_variance: np.ndarray) -> float:
    """``mean(r^2) / mean(range variance)`` over training rows: converts a range-variance forecast
    into a close-to-close return variance (the overnight gap included). 1.0 when undefined."""
    r = np.asarray(next_return, dtype=np.float64)
    v = np.asarray(next_range_variance, dtype=np.float64)
    ok = np.isfinite(r) & np.isfinite(v)
    if ok.sum() < 2 or not v[ok].mean() > 0:
        return 1.0
    ratio = float(np.mean(r[ok] ** 2) / v[ok].mean())
    return ratio if np.isfinite(ratio) and ratio > 0 else 1.0


def forecast_variance(log_h: np.ndarray, scale: float) -> np.ndarray:
    """The risk network's output (log of the variance over ``scale``) -> a floored variance forecast."""
    return np.maximum(
        np.exp(np.clip(np.asarray(log_h, dtype=np.float64), -30.0, 30.0)) * scale, VARIANCE_FLOOR
    )
