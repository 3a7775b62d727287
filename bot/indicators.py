"""Indicators the engine and the protective exits share (causal: they read a ``MarketView``)."""

from __future__ import annotations

import numpy as np

from bot.market import MarketView


def average_true_range(view: MarketView, symbol: str, window: int) -> float | None:
    """The mean true range of ``symbol``'s last ``window`` bars (None until there are window + 1)."""
    if view.count(symbol) < window + 1:
        return None
    high = view.column(symbol, "high")[-window:]
    low = view.column(symbol, "low")[-window:]
    previous = view.column(symbol, "close")[-window - 1 : -1]
    true_range = np.maximum(high - low, np.maximum(abs(high - previous), abs(low - previous)))
    return float(true_range.mean())
