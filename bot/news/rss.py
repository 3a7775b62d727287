"""``RssFetcher``: the configured RSS/Atom feeds as one live news source.

Per fetch, every feed not sitting out a backoff is downloaded (a few at a time, each bounded by
``feed_http.download``), then handled in configuration order so "first seen wins" is stable:

| outcome | what happens |
|---|---|
| 200 + a feed | its new items are kept; ETag / Last-Modified remembered; the error count resets |
| 304 | nothing new; the error count resets |
| timeout, connection error, HTTP 4xx/5xx, too big, not a feed | a warning (URL, reason); a backoff |

Backoff: after an error the feed is skipped until now + ``backoff_seconds``, doubling per error in
a row, at most ``max_backoff_seconds``; a success resets it.

A headline is new when neither its (source, guid) nor its normalised title was handed out
before (by this fetcher). The same story in two feeds of one fetch is kept once, from the first
feed, with the symbols of both. One broken feed never stops the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import quote

import requests
import structlog

from bot.config import NewsConfig
from bot.news.base import Clock, FetchReport, Headline, LiveNewsSource, Scorer, utc_now
from bot.news.dedup import SeenKeys
from bot.news.feed_http import FeedError, FeedResponse, download, new_session
from bot.news.feed_parse import parse_feed
from bot.news.symbols import SymbolMatcher

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Feed:
    url: str
    symbol: str | None = None  # set for a per-symbol feed: its items concern this symbol


@dataclass
class _FeedState:
    etag: str | None = None
    last_modified: str | None = None
    errors: int = 0  # in a row
    retry_at: datetime | None = None


def expand_feeds(feeds: Sequence[str], symbol_feeds: Sequence[str], symbols: Sequence[str]) -> list[Feed]:
    """General feeds, then each per-symbol template for each symbol; a URL listed twice counts once."""
    out: list[Feed] = []
    seen: set[str] = set()
    candidates = [Feed(url) for url in feeds]
    candidates += [Feed(t.replace("{symbol}", quote(s, safe=".-")), s) for t in symbol_feeds for s in symbols]
    for feed in candidates:
        if feed.url not in seen:
            seen.add(feed.url)
            out.append(feed)
    return out


class RssFetcher(LiveNewsSource):
    """Fetches RSS/Atom feeds over HTTP; ``fetch()`` returns new, scored headlines."""

    def __init__(
        self,
        feeds: Sequence[Feed],
        *,
        matcher: SymbolMatcher,
        scorer: Scorer,
        timeout_seconds: float = 10.0,
        max_bytes: int = 5_000_000,
        max_title_chars: int = 300,
        max_items: int = 500,
        backoff_seconds: float = 60.0,
        max_backoff_seconds: float = 3600.0,
        clock: Clock = utc_now,
        session: requests.Session | None = None,
        max_workers: int = 4,
    ) -> None:
        self.feeds = list(feeds)
        self.matcher = matcher
        self.scorer = scorer
        self.timeout_seconds = timeout_seconds
        self.max_bytes = max_bytes
        self.max_title_chars = max_title_chars
        self.max_items = max_items
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.clock = clock
        self.session = session or new_session()
        self.max_workers = max(1, max_workers)
        self.last_report = FetchReport()
        self._state = {feed.url: _FeedState() for feed in self.feeds}
        self._seen_ids = SeenKeys()
        self._seen_titles = SeenKeys()

    @classmethod
    def from_config(
        cls,
        news: NewsConfig,
        symbols: Sequence[str],
        scorer: Scorer,
        *,
        matcher: SymbolMatcher | None = None,
        clock: Clock = utc_now,
        session: requests.Session | None = None,
    ) -> RssFetcher:
        return cls(
            expand_feeds(news.feeds, news.symbol_feeds, symbols),
            matcher=matcher or SymbolMatcher(symbols, news.aliases),
            scorer=scorer,
            timeout_seconds=news.timeout_seconds,
            max_bytes=news.max_bytes,
            max_title_chars=news.max_title_chars,
            max_items=news.max_items,
            backoff_seconds=news.backoff_seconds,
            max_backoff_seconds=news.max_backoff_seconds,
            clock=clock,
            session=session,
        )

    def retry_at(self, url: str) -> datetime | None:
        """When a feed in backoff will be tried again (None: it is due now)."""
        return self._state[url].retry_at

    def fetch(self) -> list[Headline]:
        """New headlines from every feed that is due, scored; never raises for a broken feed."""
        now = self.clock()
        due = [f for f in self.feeds if self._is_due(f, now)]
        outcomes = self._download_all(due)
        new: list[Headline] = []
        index_by_title: dict[str, int] = {}  # this fetch's kept headlines, for symbol merging
        failed = 0
        for feed, outcome in zip(due, outcomes):
            items = self._items(feed, outcome, now)
            if items is None:
                failed += 1
                continue
            for headline in items:
                self._keep_if_new(headline, new, index_by_title)
        self.last_report = FetchReport(attempted=len(due), failed=failed, skipped=len(self.feeds) - len(due))
        log.info("rss_fetched", feeds=len(due), failed=failed, skipped=self.last_report.skipped, new=len(new))
        return [h.scored(self.scorer) for h in new]

    def close(self) -> None:
        self.session.close()

    # -- steps ----------------------------------------------------------------------------------

    def _is_due(self, feed: Feed, now: datetime) -> bool:
        retry_at = self._state[feed.url].retry_at
        return retry_at is None or now >= retry_at

    def _download_all(self, due: Sequence[Feed]) -> list[FeedResponse | FeedError]:
        if len(due) <= 1:
            return [self._download(f) for f in due]
        workers = min(self.max_workers, len(due))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rss") as pool:
            return list(pool.map(self._download, due))

    def _download(self, feed: Feed) -> FeedResponse | FeedError:
        state = self._state[feed.url]
        try:
            return download(
                self.session,
                feed.url,
                timeout_seconds=self.timeout_seconds,
                max_bytes=self.max_bytes,
                etag=state.etag,
                last_modified=state.last_modified,
            )
        except FeedError as exc:
            return exc
        except Exception as exc:  # a bug or an odd library error must not stop the other feeds
            log.error("feed_download_crashed", url=feed.url, exc_info=True)
            return FeedError(f"unexpected {type(exc).__name__}")

    def _items(self, feed: Feed, outcome: FeedResponse | FeedError, now: datetime) -> list[Headline] | None:
        """The feed's headlines ([] for a 304), or None after logging a failure."""
        if isinstance(outcome, FeedError):
            self._failed(feed, str(outcome), now)
            return None
        if outcome.status == 304:
            self._succeeded(feed, outcome)
            return []
        try:
            items = parse_feed(
                outcome.body,
                url=feed.url,
                content_type=outcome.content_type,
                fetched_at=now,
                matcher=self.matcher,
                symbol=feed.symbol,
                max_title_chars=self.max_title_chars,
                max_items=self.max_items,
            )
        except FeedError as exc:
            self._failed(feed, str(exc), now)
            return None
        except Exception as exc:
            log.error("feed_parse_crashed", url=feed.url, exc_info=True)
            self._failed(feed, f"unexpected {type(exc).__name__} while parsing", now)
            return None
        self._succeeded(feed, outcome)
        return items

    def _keep_if_new(self, headline: Headline, new: list[Headline], index_by_title: dict[str, int]) -> None:
        ident = (headline.source, headline.guid)
        if ident in self._seen_ids:
            return
        self._seen_ids.add(ident)
        key = headline.key
        if key in index_by_title:  # same story, another feed of this fetch: first wins, symbols merge
            i = index_by_title[key]
            merged = tuple(sorted(set(new[i].symbols) | set(headline.symbols)))
            new[i] = replace(new[i], symbols=merged)
            return
        if key in self._seen_titles:
            return
        self._seen_titles.add(key)
        index_by_title[key] = len(new)
        new.append(headline)

    def _succeeded(self, feed: Feed, response: FeedResponse) -> None:
        state = self._state[feed.url]
        if state.errors:
            log.info("feed_recovered", url=feed.url, after_errors=state.errors)
        state.errors = 0
        state.retry_at = None
        if response.status == 200:
            state.etag = response.etag
            state.last_modified = response.last_modified

    def _failed(self, feed: Feed, reason: str, now: datetime) -> None:
        state = self._state[feed.url]
        state.errors += 1
        delay = min(self.backoff_seconds * 2 ** min(state.errors - 1, 30), self.max_backoff_seconds)
        state.retry_at = now + timedelta(seconds=delay)
        log.warning(
            "feed_failed", url=feed.url, reason=reason, errors_in_a_row=state.errors, retry_in_seconds=delay
        )
