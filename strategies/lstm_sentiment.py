"""A volatility-managed book that the LSTM's two heads size and tilt.

Sizing (every symbol, every bar): ``weight = equal share x min(vol_cap, vol_target / forecast
volatility)``, with the volatility annualised from the risk head's forecast of the next bar's
close-to-close variance; while the risk head is rejected (or has no forecast for a symbol yet),
from an EWMA (``ewma_lambda``, RiskMetrics) of the symbol's squared log returns.

What is held (``base``):
- ``"long"`` (default): that weight, whatever the return head says, unless an active return head
  forecasts past its hurdle: a gain past it holds ``tilt`` x the weight (never past
  ``vol_cap`` x the share), a loss past it goes flat (short at the weight when shorting is allowed);
- ``"flat"``: nothing, unless an active return head forecasts a gain past the hurdle (long at the
  weight) or a loss past it (short where allowed). Between the hurdles: no opinion, the position
  is left as it is.

The hurdle is the round trip's cost (2 x (slippage + percent commission)) + ``margin_bps``. The
engine's rebalance band (``strategy.rebalance_band``) keeps small changes of the forecast from
trading.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from bot.engine.market import MarketView
from bot.forecast.vol_baselines import ewma_forecast
from strategies.base import Strategy

# Bars of returns the EWMA fallback reads: lambda^120 = 0.06 % of weight is left out at 0.94.
_EWMA_BARS = 120


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
        periods_per_year: int,
        allow_short: bool,
        model_usable: bool,
        vol_cap: float = 1.0,
        ewma_lambda: float = 0.94,
        base: str = "long",
        tilt: float = 1.5,
    ) -> None:
        super().__init__(symbols, allocation)
        self.hurdle = round_trip_cost + margin_bps / 10_000
        self.vol_target = vol_target
        self.vol_cap = vol_cap
        self.ewma_lambda = ewma_lambda
        self.periods_per_year = periods_per_year
        self.allow_short = allow_short
        self.model_usable = model_usable  # the return head passed its gate
        self.base = base
        self.tilt = tilt
        #: how many sizing decisions each volatility source made: "risk head" or "EWMA"
        self.sizing_counts: Counter[str] = Counter()

    def targets(
        self,
        view: MarketView,
        forecasts: Mapping[str, float] | None = None,
        risk: Mapping[str, float] | None = None,
    ) -> dict[str, float]:
        forecasts = (forecasts or {}) if self.model_usable else {}
        out = {}
        for symbol in self.symbols:
            if not view.count(symbol):
                continue
            weight = self.weight(view, symbol, (risk or {}).get(symbol))
            if weight is None:
                continue
            target = self._hold(weight, forecasts.get(symbol))
            if target is not None:
                out[symbol] = target
        return out

    def _hold(self, weight: float, forecast: float | None) -> float | None:
        move = math.expm1(forecast) if forecast is not None else 0.0
        if move > self.hurdle:
            return (
                min(weight * self.tilt, self.weight_per_symbol * self.vol_cap)
                if self.base == "long"
                else weight
            )
        if move < -self.hurdle:
            return -weight if self.allow_short else 0.0
        return weight if self.base == "long" else (None if self.model_usable else 0.0)

    def weight(self, view: MarketView, symbol: str, variance: float | None) -> float | None:
        """The symbol's volatility-managed weight (None until a volatility can be estimated)."""
        if variance is not None and math.isfinite(variance) and variance > 0:
            self.sizing_counts["risk head"] += 1
        else:
            variance = self._ewma_variance(view, symbol)
            if variance is None:
                return None
            self.sizing_counts["EWMA"] += 1
        vol = math.sqrt(variance * self.periods_per_year)
        return self.weight_per_symbol * min(self.vol_cap, self.vol_target / vol)

    def _ewma_variance(self, view: MarketView, symbol: str) -> float | None:
        closes = view.closes(symbol)[-(_EWMA_BARS + 1) :]
        if len(closes) < 3:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            returns = np.diff(np.log(closes))
        returns = returns[np.isfinite(returns)]
        if len(returns) < 2:
            return None
        variance = float(ewma_forecast(returns**2, self.ewma_lambda)[-1])
        return variance if math.isfinite(variance) and variance > 0 else None
