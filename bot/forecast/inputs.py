"""What the forecaster reads: bars per symbol and, when the model uses them, sentiment features
aligned row by row with those bars (headlines published at or before each bar's close only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

import pandas as pd

from bot.calendar.timeframes import Timeframe
from bot.config import SENTIMENT_FEATURES, Config
from bot.data.base import BarFeed
from bot.news.base import Headline


def needs_sentiment(config: Config) -> bool:
    return any(f in SENTIMENT_FEATURES for f in config.model.features + config.model.risk_features)


def replay_headlines(
    config: Config,
    feed: BarFeed,
    symbols: Sequence[str],
    frames: Mapping[str, pd.DataFrame],
    timeframe: Timeframe,
) -> list[Headline]:
    """The configured replay's scored headlines over the bars' span (plus the lookback before it);
    an empty list when no replay source applies (features are then the explicit no-news state)."""
    from bot.news.replay import make_news_replay, replay_scored
    from bot.news.sentiment import SentimentScorer

    source = make_news_replay(config, feed)
    present = [f for f in frames.values() if len(f)]
    if source is None or not present:
        return []
    first = min(f.index[0] for f in present).to_pydatetime()
    last = timeframe.close_time(max(f.index[-1] for f in present).to_pydatetime())
    sent = config.sentiment
    scorer = SentimentScorer(sent.positive_threshold, sent.negative_threshold)
    return replay_scored(source, scorer, symbols, first - timedelta(hours=sent.lookback_hours), last)


def sentiment_by_bar(
    headlines: Sequence[Headline], frames: Mapping[str, pd.DataFrame], timeframe: Timeframe, config: Config
) -> dict[str, pd.DataFrame]:
    """Per symbol, one row of sentiment features per bar (at that bar's close time), positional."""
    from bot.news.features import sentiment_features

    out = {}
    for symbol, frame in frames.items():
        closes = pd.DatetimeIndex([timeframe.close_time(ts) for ts in frame.index.to_pydatetime()])
        features = sentiment_features(headlines, closes, [symbol], config.sentiment)[symbol]
        out[symbol] = features.reset_index(drop=True)
    return out
