"""Indicators the engine and the protective exits share (causal: they read a ``MarketView``)."""

from __future__ import annotations

import numpy as np

from bot.engine.market import MarketView


def average_true_range(view: MarketView, symbol: str, window: int) -> float | None:
    """The mean true range of ``symbol``'s last ``window`` bars (None until there are window + 1)."""
    if view.count(symbol) < window + 1:
        return None
    high = view.column(symbol, "high")[-window:]
    low = view.column(symbol, "low")[-window:]
    previous = view.column(symbol, "close")[-window - 1 : -1]
    true_range = np.maximum(high - low, np.maximum(abs(high - previous), abs(low - previous)))
    return float(true_range.mean())


def stop_level(
    price: float, view: MarketView, symbol: str, *, pct: float, atr_multiple: float, atr_window: int
) -> float | None:
    """A long's protective stop below ``price``: ``pct`` below it and/or ``atr_multiple`` average
    true ranges below it; with both, the nearer one (the smaller loss). None when neither applies."""
    levels = []
    if pct > 0:
        levels.append(price * (1 - pct))
    if atr_multiple > 0:
        atr = average_true_range(view, symbol, atr_window)
        if atr is not None:
            levels.append(price - atr_multiple * atr)
    levels = [level for level in levels if level > 0]
    return max(levels) if levels else None
