"""Moving-average cross, long only.

At each bar close, for each symbol with at least ``slow`` bars: the target weight is the
symbol's equal share of the allocation when the mean of the last ``fast`` closes is strictly above
the mean of the last ``slow`` closes, else 0. With fewer bars the strategy has no opinion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.engine.market import MarketView
from strategies.base import Strategy


class SmaCross(Strategy):
    name = "sma_cross"

    def __init__(self, symbols: Sequence[str], allocation: float, fast: int, slow: int) -> None:
        super().__init__(symbols, allocation)
        if not 0 < fast < slow:
            raise ValueError("sma_cross needs 0 < fast < slow")
        self.fast = fast
        self.slow = slow

    def targets(
        self,
        view: MarketView,
        forecasts: Mapping[str, float] | None = None,
        risk: Mapping[str, float] | None = None,
    ) -> dict[str, float]:
        out = {}
        for symbol in self.symbols:
            # the view's rolling means: O(1) a step, bit for bit the means of the last closes
            slow_mean = view.rolling_mean(symbol, self.slow)
            if slow_mean is None:
                continue
            fast_mean = view.rolling_mean(symbol, self.fast)
            out[symbol] = self.weight_per_symbol if fast_mean > slow_mean else 0.0
        return out

    def target_path(self, view: MarketView) -> dict[str, list[float | None]]:
        """``targets`` at every step, from the view's own rolling means (the same values)."""
        weight = self.weight_per_symbol
        paths = {}
        for symbol in self.symbols:
            slow = view.rolling_mean_by_step(symbol, self.slow)
            fast = view.rolling_mean_by_step(symbol, self.fast)
            paths[symbol] = [None if s is None else (weight if f > s else 0.0) for f, s in zip(fast, slow)]
        return paths
