"""Trades the LSTM's forecasts, only when they are worth more than they cost.

For each symbol with a forecast f of the next bar's log return (made at this close):
- expected move m = exp(f) - 1; hurdle = the round trip's cost (2 x (slippage + percent
  commission)) + ``margin_bps``;
- m > hurdle: long, at the symbol's equal share of the allocation scaled down by a volatility
  target (share x min(1, vol_target / realised volatility of the last ``vol_window`` returns,
  annualised));
- m < -hurdle: flat (short at the same size when shorting is allowed);
- otherwise: no opinion, the position is left as it is (no trading on noise).
A rejected or missing model means no forecasts: the strategy asks to be flat everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from bot.market import MarketView
from strategies.base import Strategy


class LstmSentiment(Strategy):
    name = "lstm_sentiment"

    def __init__(
        self,
        symbols: Sequence[str],
        allocation: float,
        *,
        round_trip_cost: float,
        margin_bps: float,
        vol_target: float,
        vol_window: int,
        periods_per_year: int,
        allow_short: bool,
        model_usable: bool,
    ) -> None:
        super().__init__(symbols, allocation)
        self.hurdle = round_trip_cost + margin_bps / 10_000
        self.vol_target = vol_target
        self.vol_window = vol_window
        self.periods_per_year = periods_per_year
        self.allow_short = allow_short
        self.model_usable = model_usable

    def targets(self, view: MarketView, forecasts: Mapping[str, float] | None = None) -> dict[str, float]:
        if not self.model_usable:
            return {s: 0.0 for s in self.symbols if view.count(s)}
        out = {}
        for symbol, forecast in (forecasts or {}).items():
            move = math.expm1(forecast)
            if move > self.hurdle:
                out[symbol] = self._size(view, symbol)
            elif move < -self.hurdle:
                out[symbol] = -self._size(view, symbol) if self.allow_short else 0.0
        return out

    def _size(self, view: MarketView, symbol: str) -> float:
        if self.vol_target <= 0:
            return self.weight_per_symbol
        closes = view.closes(symbol)[-(self.vol_window + 1) :]
        if len(closes) < 3:
            return self.weight_per_symbol
        vol = float(np.std(np.diff(np.log(closes)), ddof=1)) * math.sqrt(self.periods_per_year)
        return self.weight_per_symbol * (min(1.0, self.vol_target / vol) if vol > 0 else 1.0)
