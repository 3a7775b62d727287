"""The bar-feed contract.

A *bars frame* is a ``pandas.DataFrame`` with

- index: ``DatetimeIndex`` named ``"ts"``, tz-aware **UTC**, strictly increasing, each value the
  bar's start time (see ``bot.timeframes``);
- columns ``open, high, low, close, volume`` as float64, all finite, prices > 0, ``low <= open,
  close <= high``, volume > 0.

Feeds clean what they can (see ``bot.data.cleaning``) and raise ``DataError`` naming the file and
row for what they cannot.

| method | must |
|---|---|
| ``history(symbols, start, end, timeframe)`` | return one bars frame per requested symbol with bars whose start lies in ``[start, end]``; raise ``DataError`` for an unknown symbol or when a symbol has no bar in the range |
| ``latest(symbols, timeframe)`` | return the most recent complete bar per symbol (a one-row bars frame); symbols without data are left out |
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from bot.timeframes import Timeframe

BAR_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")


class BarFeed(ABC):
    """Where bars come from. Implementations: ``csv:DIR``, ``sample``, (later) ``alpaca``."""

    #: short name shown in reports, e.g. ``"sample"`` or ``"csv:/data/daily"``
    name: str = "feed"
    #: True when the data is generated: every report it feeds must say so
    synthetic: bool = False

    @abstractmethod
    def history(
        self,
        symbols: Sequence[str],
        start: datetime | None,
        end: datetime | None,
        timeframe: Timeframe,
    ) -> dict[str, pd.DataFrame]:
        """Bars frames for ``symbols`` with start times in ``[start, end]`` (None = unbounded)."""

    def latest(self, symbols: Sequence[str], timeframe: Timeframe) -> dict[str, pd.DataFrame]:
        """The last bar of each symbol. Replay feeds answer from their history."""
        frames = self.history(symbols, None, None, timeframe)
        return {symbol: frame.iloc[-1:] for symbol, frame in frames.items() if len(frame)}


def empty_bars() -> pd.DataFrame:
    """A bars frame with no rows (the right dtypes and index)."""
    index = pd.DatetimeIndex([], tz="UTC", name="ts")
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in BAR_COLUMNS}, index=index)
