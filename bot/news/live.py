"""The live news sources named by ``[news]``, and how one fetch round went.

``build_live_sources`` is what every live mode (the ``news`` command, the daemon) calls, so they
all read the same feeds the same way. Alpaca's client is imported only when ``news.alpaca`` is on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from bot.config import Config, Secrets
from bot.news.base import LiveNewsSource, Scorer
from bot.news.symbols import SymbolMatcher

Clock = Callable[[], datetime]
log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class FetchReport:
    """One ``fetch()`` of a source: endpoints asked, how many failed, how many sat out a backoff."""

    attempted: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def all_failed(self) -> bool:
        return self.attempted > 0 and self.failed == self.attempted

    def __add__(self, other: FetchReport) -> FetchReport:
        return FetchReport(self.attempted + other.attempted, self.failed + other.failed,
                           self.skipped + other.skipped)  # fmt: skip


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

        sources.append(AlpacaNewsSource.from_config(config, symbols, scorer, matcher=matcher,
                                                    secrets=secrets, clock=clock))  # fmt: skip
    return sources
