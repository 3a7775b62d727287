"""Strategies turn what the market shows (and, later, forecasts) into target weights."""

from __future__ import annotations

from collections.abc import Sequence

from bot.config import StrategyConfig
from strategies.base import Strategy

STRATEGY_NAMES = ("sma_cross", "buy_and_hold")


def make_strategy(config: StrategyConfig, symbols: Sequence[str]) -> Strategy:
    """Build the configured strategy for ``symbols``."""
    if config.name == "sma_cross":
        from strategies.sma_cross import SmaCross

        return SmaCross(symbols, config.allocation, config.sma_cross.fast, config.sma_cross.slow)
    if config.name == "buy_and_hold":
        from strategies.buy_and_hold import BuyAndHold

        return BuyAndHold(symbols, config.allocation)
    raise ValueError(f"unknown strategy {config.name!r}")  # config validation prevents this
