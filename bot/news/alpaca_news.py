"""``AlpacaNewsSource``: Alpaca's news API (``/v1beta1/news``) as a live news source.

It uses alpaca-py's own ``NewsClient``, bounded where alpaca-py is not:

- alpaca-py sends requests without a timeout: an adapter mounted on the client's session gives
  every request ``(timeout, timeout)`` and disables urllib3's own retries;
- alpaca-py retries 429/504 by itself (3 times, 3 s apart, not settable through ``NewsClient``):
  its retry count and wait are set to ``retry_attempts`` / ``retry_wait_seconds``;
- alpaca-py follows ``next_page_token`` until ``limit`` items arrived, so a server that kept
  sending empty pages would loop: the adapter refuses more than ``max_requests`` per fetch.

Which articles a fetch asks for, and why. Alpaca sorts news by *updated* time (and pages on
(updated_at, id)), while ``start``/``end`` bound "the interval" without saying which timestamp:
if they bound ``created_at``, an article created inside the window can sort after ones created
later, so a cursor moved to the newest ``created_at`` of a cut-off page skips the rest for good, and
an article indexed late (created before the cursor) is never asked for. So the cursor is an
*interval* that is only closed once it has been read whole, under either reading:

- each fetch asks for everything since ``start`` (the first: ``lookback`` ago), newest updated
  first, up to ``limit`` items (alpaca-py follows ``next_page_token``, 50 a page);
- when fewer than ``limit`` came back, the whole interval was read: the next one starts ``overlap``
  before the newest timestamp seen (a server time, so our clock's skew does not matter; capped at our
  clock in case a stamp lies in the future). The overlap is for articles that show up late; the ones
  read again are dropped by id, which costs a few repeated items per fetch;
- when ``limit`` items came back (a backlog after start-up or an outage), the rest is older: each
  unread article has ``updated_at`` (and so ``created_at``) at or before the oldest ``updated_at``
  read, under both readings. The next fetch asks for the same ``start`` with that ``end``, so the
  interval is walked down a page-full per fetch and nothing is skipped; newer articles wait until
  the walk ends (logged as ``alpaca_news_truncated``). Should a walk step make no progress (``limit``
  articles at one instant, or, if the window bounds ``created_at``, ``limit`` old articles updated
  after the step), the rest of the interval is given up, with a warning naming it.

An item counts once by id and once by normalised title. Errors (timeouts, HTTP 4xx/5xx, bad keys,
odd JSON) are logged without a traceback (tracebacks could carry request headers), give no
headlines and leave the interval as it was, so the next fetch asks again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import structlog
from requests.adapters import HTTPAdapter

from bot.config import Config, Secrets, secrets_from_env
from bot.errors import ConfigError
from bot.news.base import Clock, FetchReport, Headline, LiveNewsSource, Scorer, title_key, utc_now
from bot.news.dedup import SeenKeys
from bot.news.symbols import SymbolMatcher
from bot.news.text import clean_text

log = structlog.get_logger(__name__)

SOURCE = "alpaca"
PAGE_SIZE = 50  # what alpaca-py's NewsClient asks per request (and Alpaca's maximum)
MISSING_KEYS = (
    "news.alpaca is true but the Alpaca keys are missing: set ALPACA_API_KEY and ALPACA_SECRET_KEY"
    " (or APCA_API_KEY_ID and APCA_API_SECRET_KEY) in the environment"
)


class _BoundedAdapter(HTTPAdapter):
    """Gives every request a timeout and caps the requests of one fetch (see module docstring)."""

    def __init__(self, timeout: tuple[float, float], max_requests: int) -> None:
        super().__init__(max_retries=0)
        self.timeout = timeout
        self.max_requests = max_requests
        self.sent = 0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent += 1
        if self.sent > self.max_requests:
            raise requests.RequestException(f"more than {self.max_requests} requests in one news fetch")
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class AlpacaNewsSource(LiveNewsSource):
    """Alpaca news for our symbols (all news when we trade none); ``fetch()`` never raises."""

    def __init__(
        self,
        *,
        data_url: str,
        api_key: str,
        secret_key: str,
        symbols: Sequence[str],
        matcher: SymbolMatcher,
        scorer: Scorer,
        timeout_seconds: float = 10.0,
        clock: Clock = utc_now,
        lookback: timedelta = timedelta(hours=24),
        overlap: timedelta = timedelta(minutes=10),
        limit: int = 200,
        retry_attempts: int = 1,
        retry_wait_seconds: float = 1.0,
        max_requests: int = 5,
    ) -> None:
        """``limit``: the most articles one fetch reads; alpaca-py asks for them 50 a page, and
        those pages (plus any retries) must fit in ``max_requests``, else ``ValueError``."""
        from alpaca.data.historical.news import NewsClient

        if not api_key or not secret_key:
            raise ConfigError(MISSING_KEYS)
        if limit < 1 or math.ceil(limit / PAGE_SIZE) > max_requests:
            raise ValueError(f"limit {limit} needs more than max_requests={max_requests} pages of 50")
        self.symbols = tuple(sorted({s.upper() for s in symbols}))
        self.matcher = matcher
        self.scorer = scorer
        self.clock = clock
        self.lookback = lookback
        self.overlap = overlap
        self.limit = limit
        self.last_report = FetchReport()
        self._client = NewsClient(api_key=api_key, secret_key=secret_key, url_override=data_url.rstrip("/"))
        self._adapter = _BoundedAdapter((timeout_seconds, timeout_seconds), max_requests)
        self._client._session.mount("https://", self._adapter)
        self._client._session.mount("http://", self._adapter)
        # NewsClient does not pass these through to RESTClient; they are plain attributes there
        self._client._retry = max(0, retry_attempts)
        self._client._retry_wait = max(0.0, retry_wait_seconds)
        # the interval being read: [_since, _until]; _until is None (up to the server's now) until a
        # fetch was cut off, and _newest is the newest timestamp read in it so far
        self._since: datetime | None = None
        self._until: datetime | None = None
        self._newest: datetime | None = None
        self._seen_ids = SeenKeys()
        self._seen_titles = SeenKeys()

    @classmethod
    def from_config(
        cls,
        config: Config,
        symbols: Sequence[str],
        scorer: Scorer,
        *,
        matcher: SymbolMatcher | None = None,
        secrets: Secrets | None = None,
        clock: Clock = utc_now,
    ) -> AlpacaNewsSource:
        """Keys from the environment (or ``secrets``); ``ConfigError`` when they are missing."""
        secrets = secrets if secrets is not None else secrets_from_env()
        if not secrets.alpaca_key or not secrets.alpaca_secret:
            raise ConfigError(MISSING_KEYS)
        return cls(
            data_url=config.alpaca.data_url,
            api_key=secrets.alpaca_key,
            secret_key=secrets.alpaca_secret,
            symbols=symbols,
            matcher=matcher or SymbolMatcher(symbols, config.news.aliases),
            scorer=scorer,
            timeout_seconds=config.alpaca.timeout_seconds,
            clock=clock,
        )

    def fetch(self) -> list[Headline]:
        """Headlines Alpaca published that this source has not handed out yet, scored, oldest first;
        [] (logged) on any error. Reads at most ``limit`` articles (see module docstring)."""
        from alpaca.data.requests import NewsRequest

        now = self.clock()
        start = self._since or now - self.lookback
        symbols = ",".join(self.symbols) or None
        request = NewsRequest(start=start, end=self._until, symbols=symbols, limit=self.limit, sort="desc")
        self._adapter.sent = 0
        try:
            items = self._client.get_news(request).data.get("news", [])
        except Exception as exc:  # alpaca-py raises APIError, requests errors, pydantic errors...
            self.last_report = FetchReport(attempted=1, failed=1)
            log.warning("alpaca_news_failed", url=self._client._base_url, reason=_reason(exc))
            return []
        self.last_report = FetchReport(attempted=1)
        self._advance(start, now, items)
        new = []
        for item in items:
            headline = self._headline(item, now)
            if headline is None or (SOURCE, headline.guid) in self._seen_ids:
                continue
            self._seen_ids.add((SOURCE, headline.guid))
            if headline.key in self._seen_titles:
                continue
            self._seen_titles.add(headline.key)
            new.append(headline)
        new.sort(key=lambda h: (h.published_at, h.guid))  # Alpaca sent them newest-updated first
        log.info("alpaca_news_fetched", items=len(items), new=len(new))
        return [h.scored(self.scorer) for h in new]

    def _advance(self, start: datetime, now: datetime, items: Sequence[Any]) -> None:
        """Moves the interval on after a fetch of ``[start, self._until]`` read ``items``."""
        stamps = [_utc(ts) for item in items for ts in (item.created_at, item.updated_at)]
        if stamps:
            self._newest = max(self._newest or start, *stamps)
        if len(items) >= self.limit:
            oldest = min(_utc(item.updated_at) for item in items)
            if self._until is None or oldest < self._until:
                log.warning(
                    "alpaca_news_truncated",
                    limit=self.limit,
                    unread_from=start.isoformat(),
                    unread_until=oldest.isoformat(),
                )
                self._since, self._until = start, oldest
                return
            log.warning(
                "alpaca_news_skipped",
                reason=f"more than {self.limit} articles at or after the end",
                skipped_from=start.isoformat(),
                skipped_until=self._until.isoformat(),
            )
        # the whole interval was read: the next one starts overlap before the newest stamp seen
        anchor = min(self._newest, now) if self._newest is not None else start
        self._since = max(start, anchor - self.overlap)
        self._until = self._newest = None

    def _headline(self, item: Any, fetched_at: datetime) -> Headline | None:
        title = clean_text(item.headline)
        if not title_key(title):
            return None
        summary = clean_text(item.summary)
        published = _utc(item.created_at)
        estimated = published > fetched_at  # a clock ahead of ours: never pretend to know early
        ours = {s.upper() for s in item.symbols or ()} & set(self.symbols)
        symbols = ours | set(self.matcher.match(f"{title}\n{summary}"))
        return Headline(
            source=SOURCE,
            guid=str(item.id),
            title=title,
            published_at=fetched_at if estimated else published,
            fetched_at=fetched_at,
            summary=summary,
            link=item.url or "",
            symbols=tuple(sorted(symbols)),
            published_estimated=estimated,
        )

    def close(self) -> None:
        self._client._session.close()


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _reason(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    text = " ".join(str(exc).split())
    reason = f"HTTP {status}: {text}" if status else f"{type(exc).__name__}: {text}"
    return reason if len(reason) <= 300 else reason[:297] + "..."
