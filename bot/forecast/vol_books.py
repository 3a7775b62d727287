"""Volatility-managed books on the out-of-sample days: what sizing by a risk forecast earns.

Each test day every symbol gets a target ``weight = (1 / N) * min(cap, vol_target / forecast
volatility)`` (annualised close-to-close volatility), decided at that day's close and held over the
next bar. As in the engine (``bot.engine.planner.order_quantity``), a holding is traded to its target only
when it is off by more than ``band`` x the target (or is empty, or the target is 0); between
trades the holding drifts with its price. ``cost_bps`` is paid per unit of weight traded, the
first day's entries included. Books:

- ``lstm``: the risk head's range-variance forecast, converted to a close-to-close variance with
  the per-symbol ratio fitted on the fold's training rows (``range_variance.return_variance_ratio``);
- ``ewma``: RiskMetrics (lambda 0.94) on squared close-to-close returns: the strategy's own
  fallback when the risk head is rejected;
- ``buy_and_hold``: equal weight at the first test day, never rebalanced (cost on the entry only).

Only the days on which every symbol has a test sample count, so all books see the same days.
Sharpe is annualised from per-bar returns (risk-free 0); max drawdown is a positive fraction;
turnover is the sum of ``|weight traded|`` over the span (1.0 = the whole book once).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

BOOKS = ("lstm", "ewma", "buy_and_hold")


def _stats(returns: np.ndarray, periods_per_year: int, turnover: float) -> dict[str, float | None]:
    equity = np.cumprod(1.0 + returns)
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    std = float(np.std(returns, ddof=1)) if len(returns) > 1 else 0.0
    return {
        "total_return": float(equity[-1] - 1.0) if len(equity) else None,
        "sharpe": float(np.mean(returns) / std * math.sqrt(periods_per_year)) if std > 0 else None,
        "max_drawdown": float(np.max(1.0 - equity / peak)) if len(equity) else None,
        "turnover": float(turnover),
    }


def book_weights(variance: np.ndarray, vol_target: float, cap: float, periods_per_year: int) -> np.ndarray:
    """(days, N) weights from (days, N) close-to-close variance forecasts per bar."""
    vol = np.sqrt(np.maximum(variance, 1e-12) * periods_per_year)
    return np.minimum(cap, vol_target / vol) / variance.shape[1]


def trade_path(target: np.ndarray, r: np.ndarray, band: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(per-day gross returns, per-day weight traded, total weight traded) of holding ``target``
    (days, N) against next-bar simple returns ``r`` (days, N) with the engine's rebalance band.
    The trades do not depend on the cost, so one path serves every cost level (``run_book``)."""
    held = np.zeros(target.shape[1])
    gross_by_day = np.empty(len(target))
    traded_by_day = np.empty(len(target))
    traded_total = 0.0
    for day in range(len(target)):
        want = target[day]
        delta = want - held
        trade = (
            (held == 0)
            | (want == 0)
            | (np.sign(want) != np.sign(held))
            | (np.abs(delta) > band * np.abs(want))
        )
        traded = float(np.abs(delta[trade]).sum())
        held = np.where(trade, want, held)
        gross = float(held @ r[day])
        gross_by_day[day], traded_by_day[day] = gross, traded
        traded_total += traded
        held = held * (1.0 + r[day]) / (1.0 + gross)  # weights drift with prices until the next trade
    return gross_by_day, traded_by_day, traded_total


def run_book(
    target: np.ndarray, r: np.ndarray, cost_bps: float, band: float, path: tuple | None = None
) -> tuple[np.ndarray, float]:
    """(per-day net returns, total weight traded) of holding ``target`` (days, N) against next-bar
    simple returns ``r`` (days, N) with the engine's rebalance band, paying ``cost_bps`` on every
    unit of weight traded. ``path``: ``trade_path``'s answer for the same arguments, if known."""
    gross, traded, total = path if path is not None else trade_path(target, r, band)
    return gross - cost_bps / 10_000 * traded, total


def vol_managed_books(
    *,
    ts: np.ndarray,
    symbols: np.ndarray,
    next_return: np.ndarray,
    variance: dict[str, np.ndarray],
    costs_bps: tuple[float, ...],
    periods_per_year: int,
    vol_target: float = 0.25,
    cap: float = 1.0,
    band: float = 0.0,
) -> tuple[list[dict], pd.DataFrame]:
    """(``trading.vol_managed`` rows, per-day equity of each book at 5 bps or the first cost).

    ``variance`` maps ``lstm`` and ``ewma`` to per-sample close-to-close variance forecasts.
    """
    frame = pd.DataFrame(
        {
            "ts": ts,
            "symbol": symbols,
            "r": np.expm1(next_return),
            **{f"v_{k}": v for k, v in variance.items()},
        }
    )
    wide = frame.pivot_table(index="ts", columns="symbol", values=["r", *(f"v_{k}" for k in variance)])
    wide = wide.dropna()  # days where every symbol has a test sample
    if len(wide) < 2:
        return [], pd.DataFrame()
    r = wide["r"].to_numpy()
    n_days, n_symbols = r.shape
    weights = {
        k: book_weights(wide[f"v_{k}"].to_numpy(), vol_target, cap, periods_per_year) for k in variance
    }
    growth = np.cumprod(1.0 + r, axis=0)
    bh_value = np.vstack([np.ones(n_symbols), growth[:-1]]) / n_symbols  # drifting weights, start 1/N
    bh_gross = (bh_value * r).sum(axis=1) / bh_value.sum(axis=1)
    paths = {name: trade_path(weights[name], r, band) for name in variance}  # one per book, any cost
    rows, curves = [], {}
    plot_cost = 5.0 if 5.0 in costs_bps else costs_bps[0]
    for cost in costs_bps:
        for name in BOOKS:
            if name == "buy_and_hold":
                returns, traded = bh_gross.copy(), 1.0
                returns[0] -= cost / 10_000
            else:
                returns, traded = run_book(weights[name], r, cost, band, paths[name])
            rows.append({"cost_bps": cost, "book": name, **_stats(returns, periods_per_year, traded)})
            if cost == plot_cost:
                curves[name] = np.cumprod(1.0 + returns)
    return rows, pd.DataFrame(curves, index=pd.DatetimeIndex(wide.index))
