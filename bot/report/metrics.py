"""Performance figures of an equity curve (pure functions, no I/O).

Conventions: returns are fractions (0.05 = +5%); ``max_drawdown`` is the largest fall from a
running peak as a positive fraction; Sharpe is annualised from *daily* returns (equity at the last
step of each New York trading day), sqrt(252), risk-free rate 0, so it means the same for every
bar timeframe.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

TRADING_DAYS_PER_YEAR = 252


def total_return(equity: np.ndarray) -> float:
    return float(equity[-1] / equity[0] - 1.0) if len(equity) else 0.0


def drawdown(equity: np.ndarray) -> np.ndarray:
    """Fall from the running peak at each step, as a positive fraction."""
    if not len(equity):
        return np.array([])
    peak = np.maximum.accumulate(equity)
    return 1.0 - equity / peak


def max_drawdown(equity: np.ndarray) -> float:
    dd = drawdown(equity)
    return float(dd.max()) if len(dd) else 0.0


def daily_equity(equity: pd.Series) -> pd.Series:
    """Equity at the last step of each New York trading day (index: the date)."""
    local = equity.copy()
    local.index = local.index.tz_convert("America/New_York")
    return local.groupby(local.index.date).last()


def sharpe_ratio(equity: pd.Series) -> float | None:
    """Annualised Sharpe of daily returns; None with fewer than two daily returns or no variation."""
    daily = daily_equity(equity)
    returns = daily.pct_change().dropna().to_numpy()
    if len(returns) < 2:
        return None
    std = returns.std(ddof=1)
    if not std > 0:
        return None
    return float(returns.mean() / std * math.sqrt(TRADING_DAYS_PER_YEAR))


def buy_and_hold_curve(closes: pd.DataFrame, initial_cash: float) -> np.ndarray:
    """Equal-weight buy and hold of every column, no costs.

    ``closes``: one column per symbol, one row per step, NaN before a symbol's first bar (forward
    filled after). Each symbol's share stays in cash until its first bar.
    """
    filled = closes.ffill()
    first = filled.bfill().iloc[0]
    growth = (filled / first).fillna(1.0)
    return initial_cash * growth.mean(axis=1).to_numpy()
