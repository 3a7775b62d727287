"""The strategy contract.

A strategy never holds a broker (the risk gate is the only road to it). At each decision time it
returns *target weights*: the fraction of equity it wants in each symbol (negative = short).
A symbol left out of the answer means "no opinion now": its position is left alone.
It sees the market only through a ``MarketView`` (bars up to the decision time) and, once a
forecaster is plugged in, the forecasts made from that same view.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

from bot.engine.market import MarketView


class Strategy(ABC):
    name: str = "strategy"

    def __init__(self, symbols: Sequence[str], allocation: float) -> None:
        self.symbols = list(symbols)
        #: weight given to each symbol when the strategy is in: the allocation split equally
        self.weight_per_symbol = allocation / max(1, len(self.symbols))

    @abstractmethod
    def targets(
        self,
        view: MarketView,
        forecasts: Mapping[str, float] | None = None,
        risk: Mapping[str, float] | None = None,
    ) -> dict[str, float]:
        """Target weight per symbol at the current step of ``view``.

        ``forecasts``: next-bar log-return forecasts; ``risk``: next-bar close-to-close return
        variance forecasts (both per symbol, absent where the model has none)."""

    def target_path(self, view: MarketView) -> dict[str, list[float | None]] | None:
        """The weights ``targets`` would answer at every step of a replay over ``view`` (without
        forecasts), per symbol (None: no opinion at that step), each a function of the bars up
        to its own step only; None when the strategy cannot say them up front. A replay uses it
        to recognise the steps where nothing can happen (``bot.engine.quiet``)."""
        return None
