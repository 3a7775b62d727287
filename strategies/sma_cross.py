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
        #: the view ``target_path`` was last asked for, and its path (``targets`` reads it there)
        self._path: tuple[MarketView, dict[str, list[float | None]]] | None = None

    def targets(
        self,
        view: MarketView,
        forecasts: Mapping[str, float] | None = None,
        risk: Mapping[str, float] | None = None,
    ) -> dict[str, float]:
        known = self._path
        if known is not None and known[0] is view and view.step >= 0:
            # the replay's path, made from the same rolling means (tests/engine/test_target_path.py)
            k = view.step
            return {symbol: weight for symbol, path in known[1].items() if (weight := path[k]) is not None}
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
        self._path = (view, paths)
        return paths
