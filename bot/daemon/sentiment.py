"""Sentiment rows for the live forecaster: causal features over the headlines the daemon knows.

``LiveForecaster`` asks ``rows(symbol, n)`` for the features at the symbol's last ``n`` bar
closes; ``SentimentBook`` answers from its headlines (the replayed ones, then whatever the news
job brings), using ``bot.news.features`` so a headline published after a close never counts.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import numpy as np

from bot.calendar.timeframes import Timeframe
from bot.config import SENTIMENT_FEATURES, SentimentConfig
from bot.engine.market import MarketView
from bot.news.base import Headline


class SentimentBook:
    def __init__(
        self, config: SentimentConfig, timeframe: Timeframe, headlines: Iterable[Headline] = ()
    ) -> None:
        self.config = config
        self.timeframe = timeframe
        # (headlines, their times) replaced as one tuple: the news thread adds while trading reads
        self._book: tuple[list[Headline], list[datetime]] = ([], [])
        self.view: MarketView | None = None  # set before each forecast
        self.add(headlines)

    def add(self, headlines: Iterable[Headline]) -> None:
        merged = sorted([*self._book[0], *headlines], key=lambda h: h.published_at)
        self._book = (merged, [h.published_at for h in merged])

    def rows(self, symbol: str, n: int) -> np.ndarray:
        from bot.news.features import sentiment_features

        assert self.view is not None, "SentimentBook.view must be set before forecasting"
        starts = self.view.bar_starts(symbol)[-n:]
        closes = [
            self.timeframe.close_time(datetime.fromtimestamp(ns / 1e9, tz=UTC)) for ns in starts.tolist()
        ]
        # only the headlines that can reach these closes: the features' window is causal anyway
        headlines, times = self._book
        lo = bisect.bisect_left(times, closes[0] - timedelta(hours=self.config.lookback_hours))
        hi = bisect.bisect_right(times, closes[-1])
        frame = sentiment_features(headlines[lo:hi], closes, [symbol], self.config)[symbol]
        return frame[list(SENTIMENT_FEATURES)].to_numpy("float64")


class BookForecaster:
    """A ``LiveForecaster`` whose sentiment comes from a ``SentimentBook`` (given the view first)."""

    def __init__(self, inner, book: SentimentBook | None) -> None:  # noqa: ANN001 - LiveForecaster
        self.inner = inner
        self.book = book
        self.model_id = inner.model_id

    def forecasts(self, view: MarketView) -> dict[str, float]:
        if self.book is not None:
            self.book.view = view
        return self.inner.forecasts(view)

    def volatility(self, view: MarketView) -> dict[str, float]:
        if self.book is not None:
            self.book.view = view
        return self.inner.volatility(view)
