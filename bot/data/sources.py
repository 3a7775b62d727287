"""Builds the bar feed named by ``[data] source`` and its default span."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.config import Config
from bot.data.base import BarFeed
from bot.errors import ConfigError

# The sample market's default replay spans (inside its generated span)
SAMPLE_DAILY_SPAN = (date(2021, 1, 4), date(2023, 12, 29))
SAMPLE_INTRADAY_SPAN = (date(2024, 12, 2), date(2024, 12, 31))


def make_feed(config: Config, journal: Any = None) -> BarFeed:
    """The configured feed. ``journal`` (a ``bot.journal.store.Journal``) caches downloads when given."""
    source = config.data.source
    if source == "sample":
        from bot.data.sample import SampleFeed

        return SampleFeed(seed=config.sample.seed, extended_hours=config.data.extended_hours)
    if source.startswith("csv:"):
        from bot.data.csv_feed import CsvFeed

        return CsvFeed(config.resolve(source[4:]), extended_hours=config.data.extended_hours)
    if source == "alpaca":
        from bot.data.alpaca_feed import AlpacaFeed

        return AlpacaFeed.from_config(config, journal=journal)
    raise ConfigError(f"data.source: unknown source {source!r}")


def default_symbols(feed: BarFeed) -> list[str]:
    """The symbols a source offers when the user names none."""
    symbols = getattr(feed, "symbols", None) or getattr(feed, "available_symbols", lambda: [])()
    return list(symbols)


def default_span(config: Config, timeframe_is_daily: bool) -> tuple[date | None, date | None]:
    """(start, end) when the user gives none: the sample market's span, or the whole CSV file."""
    start, end = config.data.start, config.data.end
    if config.data.source == "sample" and start is None and end is None:
        return SAMPLE_DAILY_SPAN if timeframe_is_daily else SAMPLE_INTRADAY_SPAN
    return start, end
