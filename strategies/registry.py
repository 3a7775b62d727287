"""The strategy registry: the one list of strategy names (the config schema, the CLI's help and
the docs take theirs from here) and ``make_strategy``, which builds the configured one.

No runtime import of ``bot.config`` here: the config schema imports this module for the names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Config
    from strategies.base import Strategy

STRATEGY_NAMES = ("lstm_sentiment", "sma_cross", "buy_and_hold")
NEEDS_MODEL = {"lstm_sentiment"}


def make_strategy(
    config: Config, symbols: Sequence[str], *, periods_per_year: int = 252, model_usable: bool = True
) -> Strategy:
    """Build the configured strategy for ``symbols``."""
    s = config.strategy
    if s.name == "sma_cross":
        from strategies.sma_cross import SmaCross

        return SmaCross(symbols, s.allocation, s.sma_cross.fast, s.sma_cross.slow)
    if s.name == "buy_and_hold":
        from strategies.buy_and_hold import BuyAndHold

        return BuyAndHold(symbols, s.allocation)
    if s.name == "lstm_sentiment":
        from strategies.lstm_sentiment import LstmSentiment

        b = config.broker
        return LstmSentiment(
            symbols,
            s.allocation,
            round_trip_cost=2 * (b.slippage_bps / 10_000 + b.commission_pct),
            margin_bps=s.lstm_sentiment.margin_bps,
            vol_target=s.lstm_sentiment.vol_target,
            periods_per_year=periods_per_year,
            allow_short=b.allow_short,
            model_usable=model_usable,
            vol_cap=s.lstm_sentiment.vol_cap,
            ewma_lambda=s.lstm_sentiment.ewma_lambda,
            base=s.lstm_sentiment.base,
            tilt=s.lstm_sentiment.tilt,
        )
    raise ValueError(f"unknown strategy {s.name!r}")  # config validation prevents this
