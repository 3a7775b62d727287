"""The live news sources named by ``[news]``.

``build_live_sources`` is what every live mode (the ``news`` command, the daemon) calls, so they
all read the same feeds the same way. Alpaca's client is imported only when ``news.alpaca`` is on.
This module depends on the sources, never the reverse: what they share (``Clock``, ``utc_now``,
``FetchReport``) lives in ``bot.news.base``.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from bot.config import Config, Secrets
from bot.news.base import Clock, LiveNewsSource, Scorer, utc_now
from bot.news.symbols import SymbolMatcher

log = structlog.get_logger(__name__)


def has_live_news(config: Config) -> bool:
    news = config.news
    return bool(news.feeds or news.symbol_feeds or news.alpaca)


def build_live_sources(
    config: Config,
    scorer: Scorer,
    *,
    symbols: Sequence[str] | None = None,
    secrets: Secrets | None = None,
    clock: Clock = utc_now,
) -> list[LiveNewsSource]:
    """RSS feeds (when any are configured), then Alpaca news (when ``news.alpaca``).

    ``symbols`` defaults to ``[data] symbols``. Raises ``ConfigError`` when Alpaca news is on and
    its keys are missing from the environment.
    """
    symbols = list(config.data.symbols if symbols is None else symbols)
    if config.news.symbol_feeds and not symbols:
        log.warning("symbol_feeds_unused", reason="news.symbol_feeds need symbols: set [data] symbols")
    matcher = SymbolMatcher(symbols, config.news.aliases)
    sources: list[LiveNewsSource] = []
    if config.news.feeds or config.news.symbol_feeds:
        from bot.news.rss import RssFetcher

        sources.append(RssFetcher.from_config(config.news, symbols, scorer, matcher=matcher, clock=clock))
    if config.news.alpaca:
        from bot.news.alpaca_news import AlpacaNewsSource

        sources.append(
            AlpacaNewsSource.from_config(
                config, symbols, scorer, matcher=matcher, secrets=secrets, clock=clock
            )
        )
    return sources
