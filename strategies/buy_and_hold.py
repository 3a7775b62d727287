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
