"""RSS 2.0 / Atom / RDF bytes -> ``Headline`` records (unscored, not yet de-duplicated).

feedparser does the format work and the character decoding (HTTP charset, XML prolog, BOM, with
fallbacks); this module decides what a headline is:

- title and summary are plain text (``clean_text``); an entry without a title is dropped; a title
  longer than ``max_title_chars`` is cut at a word (summaries at ten times that), and only the
  first ``max_items`` entries of a document are read (a warning says how many were left out);
- ``guid`` is the entry's id, else its link, else the normalised title;
- ``published_at`` is the entry's published (else updated) date in UTC. Without a usable date it
  is the fetch time with ``published_estimated=True``. A date after the fetch time is a feed
  error (the bot cannot know a story before it is out): it is clamped to the fetch time and
  flagged the same way, so a replay never sees a headline earlier than the live run could.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser
import structlog

from bot.news.base import Headline, title_key
from bot.news.feed_http import FeedError
from bot.news.symbols import SymbolMatcher
from bot.news.text import clean_text


def parse_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None,
    fetched_at: datetime,
    matcher: SymbolMatcher,
    symbol: str | None = None,
    max_title_chars: int = 300,
    max_items: int = 500,
) -> list[Headline]:
    """Headlines of one feed document, in document order; ``FeedError`` when it is not a feed.

    ``symbol`` is set for a per-symbol feed: its items concern that symbol (plus what the matcher
    finds in title and summary).
    """
    # The charset comes from Content-Type (feedparser weighs it against the XML prolog and BOM).
    # Without a Content-Type feedparser would assume ISO-8859-1, while XML's own default is UTF-8
    # unless the prolog says otherwise: "application/xml" lets the prolog decide. No
    # Content-Encoding: requests has already un-gzipped the body.
    headers = {"content-type": content_type or "application/xml", "content-location": url}
    # A BytesIO, never the bytes themselves: feedparser treats a str/bytes argument that looks
    # like a path or URL as something to open.
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    entries = parsed.get("entries") or []
    if not entries:
        if parsed.get("bozo"):
            raise FeedError(f"not a feed: {_bozo_reason(parsed)}")
        if not parsed.get("version"):
            raise FeedError("not a feed: no RSS/Atom document found")
        return []  # a valid feed with no items today
    source = f"rss:{url}"
    if len(entries) > max_items:
        structlog.get_logger(__name__).warning(
            "feed_items_capped", url=url, items=len(entries), kept=max_items
        )
        entries = entries[:max_items]
    headlines = []
    for entry in entries:
        headline = _headline(entry, source, fetched_at, matcher, symbol, max_title_chars)
        if headline is not None:
            headlines.append(headline)
    return headlines


def _headline(
    entry: Mapping[str, Any],
    source: str,
    fetched_at: datetime,
    matcher: SymbolMatcher,
    symbol: str | None,
    max_title_chars: int,
) -> Headline | None:
    title = cap(clean_text(entry.get("title")), max_title_chars)
    key = title_key(title)
    if not key:
        return None
    summary = cap(clean_text(entry.get("summary")), 10 * max_title_chars)
    link = str(entry.get("link") or "").strip()
    guid = str(entry.get("id") or "").strip() or link or key
    published = _entry_time(entry)
    estimated = published is None or published > fetched_at
    symbols = set(matcher.match(f"{title}\n{summary}"))
    if symbol:
        symbols.add(symbol)
    return Headline(
        source=source,
        guid=guid,
        title=title,
        published_at=fetched_at if estimated else published,
        fetched_at=fetched_at,
        summary=summary,
        link=link,
        symbols=tuple(sorted(symbols)),
        published_estimated=estimated,
    )


def cap(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word boundary when one is near, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 1)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _entry_time(entry: Mapping[str, Any]) -> datetime | None:
    """published, else updated, as aware UTC; feedparser's *_parsed are UTC struct_time."""
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        # "in" first: feedparser's get("updated_parsed") falls back to published with a warning
        value = entry.get(name) if name in entry else None
        if isinstance(value, time.struct_time):
            try:
                return datetime(*value[:6], tzinfo=UTC)
            except (ValueError, OverflowError):
                continue  # e.g. year 0 from a mangled date
    return None


def _bozo_reason(parsed: Mapping[str, Any]) -> str:
    exc = parsed.get("bozo_exception")
    text = f"{type(exc).__name__}: {exc}" if exc is not None else "malformed document"
    return text if len(text) <= 200 else text[:197] + "..."
