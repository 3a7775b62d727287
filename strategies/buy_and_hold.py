"""Buy and hold: every symbol at its equal share of the allocation, from its first bar on."""

from __future__ import annotations

from collections.abc import Mapping

from bot.engine.market import MarketView
from strategies.base import Strategy


class BuyAndHold(Strategy):
    name = "buy_and_hold"

    def targets(
        self,
        view: MarketView,
        forecasts: Mapping[str, float] | None = None,
        risk: Mapping[str, float] | None = None,
    ) -> dict[str, float]:
        return {s: self.weight_per_symbol for s in self.symbols if view.count(s) > 0}

    def target_path(self, view: MarketView) -> dict[str, list[float | None]]:
        """``targets`` at every step: the weight from a symbol's first bar on."""
        weight = self.weight_per_symbol
        return {s: [weight if c > 0 else None for c in view.bar_counts(s)] for s in self.symbols}
