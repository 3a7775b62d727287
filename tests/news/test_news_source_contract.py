"""One suite, every live news source: the ``LiveNewsSource`` contract table of ``bot.news.base``.

Runs against ``RssFetcher`` reading one feed from the local feed server, ``AlpacaNewsSource``
(the real alpaca-py client) against the local Alpaca news fake, and ``NewsIngestor`` (a live
source too) over that RSS fetcher and a journal. A ``Venue`` publishes the same stories on its
server and makes it fail; the test bodies never know which one they talk to.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol

import pytest

from bot.journal.store import Journal
from bot.news.alpaca_news import AlpacaNewsSource
from bot.news.base import FetchReport, Headline, LiveNewsSource, Scorer, title_key
from bot.news.ingest import NewsIngestor
from bot.news.symbols import SymbolMatcher

from fakes.alpaca_news_server import AlpacaFakeServer, news_item
from fakes.feed_docs import Item, rss_document
from fakes.feed_server import FeedServer
from newskit import FIXED_NOW, MutableClock, RaisingScorer, StubScorer, make_fetcher

SYMBOLS = ("AAPL", "MSFT")
ALIASES = {"AAPL": ["Apple"], "MSFT": ["Microsoft"]}
TIMEOUT = 0.5


@dataclass(frozen=True)
class Story:
    id: int
    title: str
    published: datetime
    symbols: tuple[str, ...]  # what the title names (the RSS side finds them by name)
    summary: str = ""


def ago(hours: float) -> datetime:
    return FIXED_NOW - timedelta(hours=hours)


STORIES = [
    Story(1, "Apple shares rise after record quarter", ago(5), ("AAPL",), "The iPhone maker beat estimates."),
    Story(2, "Microsoft cuts cloud prices", ago(4), ("MSFT",), "Azure gets cheaper."),
    Story(3, "Apple and Microsoft team up on chips", ago(3), ("AAPL", "MSFT")),
]


class Venue(Protocol):
    """A server the source reads, driven the same way whatever it speaks."""

    def publish(self, stories: list[Story]) -> None: ...

    def fail(self, how: str) -> None: ...  # "http_500" or "hang", until the next publish

    def source(self, clock: MutableClock, scorer: Scorer) -> LiveNewsSource: ...


class RssVenue:
    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.url = server.url("/news.xml")

    def publish(self, stories: list[Story]) -> None:
        items = [
            Item(
                title=s.title,
                link=f"https://example.com/news/{s.id}",
                guid=f"story-{s.id}",
                pub_date=format_datetime(s.published, usegmt=True),
                description=s.summary,
            )
            for s in stories
        ]
        self.server.route("/news.xml", rss_document(items), headers={"Content-Type": "application/rss+xml"})

    def fail(self, how: str) -> None:
        if how == "hang":
            self.server.route("/news.xml", hang=True)
        else:
            self.server.route("/news.xml", b"oops", status=500, headers={"Content-Type": "text/plain"})

    def source(self, clock: MutableClock, scorer: Scorer) -> LiveNewsSource:
        return make_fetcher(
            [self.url], clock=clock, symbols=SYMBOLS, aliases=ALIASES, scorer=scorer, timeout=TIMEOUT
        )


class IngestVenue(RssVenue):
    """The RSS venue read through a ``NewsIngestor`` that journals what it fetches."""

    def __init__(self, server: FeedServer, journal: Journal) -> None:
        super().__init__(server)
        self.journal = journal

    def source(self, clock: MutableClock, scorer: Scorer) -> LiveNewsSource:
        return NewsIngestor([super().source(clock, scorer)], self.journal, scorer)


class AlpacaVenue:
    def __init__(self, server: AlpacaFakeServer) -> None:
        self.server = server

    def publish(self, stories: list[Story]) -> None:
        self.server.fail_next.clear()
        self.server.delay = 0.0
        self.server.news = [
            news_item(s.id, s.title, s.published, symbols=s.symbols, summary=s.summary) for s in stories
        ]

    def fail(self, how: str) -> None:
        if how == "hang":
            self.server.delay = 10 * TIMEOUT
        else:
            self.server.fail_next = [500] * 20

    def source(self, clock: MutableClock, scorer: Scorer) -> LiveNewsSource:
        return AlpacaNewsSource(
            data_url=self.server.url,
            api_key=self.server.key_id,
            secret_key=self.server.secret_key,
            symbols=SYMBOLS,
            matcher=SymbolMatcher(SYMBOLS, ALIASES),
            scorer=scorer,
            timeout_seconds=TIMEOUT,
            clock=clock,
            retry_wait_seconds=0.01,
        )


@pytest.fixture(params=["rss", "alpaca", "ingest"])
def venue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Venue]:
    if request.param in ("rss", "ingest"):
        server = FeedServer().start()
        try:
            if request.param == "rss":
                yield RssVenue(server)
            else:
                with Journal(tmp_path / "journal.sqlite") as journal:
                    yield IngestVenue(server, journal)
        finally:
            server.stop()
        return
    fake = AlpacaFakeServer().start()
    try:
        yield AlpacaVenue(fake)
    finally:
        fake.stop()


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock(FIXED_NOW)


def by_title(headlines: list[Headline]) -> dict[str, Headline]:
    titles = [h.title for h in headlines]
    assert len(set(titles)) == len(titles), titles
    return {h.title: h for h in headlines}


def assert_contract_fields(h: Headline, fetched_at: datetime, scorer: Any) -> None:
    assert h.source and h.guid and h.title and h.title == h.title.strip() and title_key(h.title)
    assert h.fetched_at == fetched_at
    assert h.published_at.utcoffset() == timedelta(0) and h.published_at <= h.fetched_at
    assert list(h.symbols) == sorted(set(h.symbols)) and all(s == s.upper() for s in h.symbols)
    assert h.scorer_version == scorer.version
    if h.score is not None:
        assert -1.0 <= h.score <= 1.0 and h.label == scorer.label(h.score)


def test_fetch_gives_scored_headlines_with_the_documented_fields(venue: Venue, clock: MutableClock) -> None:
    venue.publish(STORIES)
    scorer = StubScorer()
    source = venue.source(clock, scorer)
    got = by_title(source.fetch())
    assert set(got) == {s.title for s in STORIES}
    for story in STORIES:
        h = got[story.title]
        assert_contract_fields(h, FIXED_NOW, scorer)
        assert (h.published_at, h.published_estimated) == (story.published, False)
        assert h.symbols == story.symbols
        assert (h.score, h.label) == (scorer.score(story.title), scorer.label(scorer.score(story.title)))
        if story.summary:
            assert h.summary == story.summary
    assert source.last_report == FetchReport(attempted=1, failed=0, skipped=0)
    source.close()


def test_a_headline_is_handed_out_once(venue: Venue, clock: MutableClock) -> None:
    venue.publish(STORIES)
    source = venue.source(clock, StubScorer())
    assert len(source.fetch()) == len(STORIES)
    clock.now += timedelta(minutes=5)
    assert source.fetch() == []  # nothing new
    assert source.last_report == FetchReport(attempted=1, failed=0, skipped=0)
    clock.now += timedelta(minutes=5)
    venue.publish(
        [
            *STORIES,
            Story(4, "Microsoft cuts cloud prices!", ago(0.5), ("MSFT",)),  # a known title, a new id
            Story(5, "Apple opens a new campus", ago(0.4), ("AAPL",)),  # new
            Story(6, "Microsoft hires a new chief", ago(0.3), ("MSFT",)),  # new, and its title twice
            Story(7, "Microsoft hires a new chief", ago(0.2), ("MSFT",)),
        ]
    )
    got = source.fetch()
    assert sorted(h.title for h in got) == ["Apple opens a new campus", "Microsoft hires a new chief"]
    assert all(h.fetched_at == clock.now for h in got)


def test_one_id_given_twice_is_handed_out_once(venue: Venue, clock: MutableClock) -> None:
    venue.publish(
        [
            Story(8, "Apple recalls chargers", ago(2), ("AAPL",)),
            Story(8, "Apple recalls chargers in Europe", ago(1), ("AAPL",)),
        ]
    )
    got = venue.source(clock, StubScorer()).fetch()
    assert len(got) == 1 and got[0].title.startswith("Apple recalls chargers")


@pytest.mark.parametrize("how", ["http_500", "hang"])
def test_a_failing_endpoint_gives_nothing_says_so_and_is_asked_again(
    venue: Venue, clock: MutableClock, how: str
) -> None:
    source = venue.source(clock, StubScorer())
    venue.fail(how)
    started = time.monotonic()
    assert source.fetch() == []  # and no exception
    assert time.monotonic() - started < 6 * TIMEOUT + 2  # bounded: a timeout, a retry at most
    report = source.last_report
    assert report is not None and (report.attempted, report.failed) == (1, 1) and report.all_failed
    venue.publish(STORIES)
    clock.now += timedelta(hours=2)  # past any backoff
    got = source.fetch()
    assert {h.title for h in got} == {s.title for s in STORIES}  # nothing lost while it failed
    assert source.last_report == FetchReport(attempted=1, failed=0, skipped=0)


def test_a_date_after_the_fetch_becomes_the_fetch_time(venue: Venue, clock: MutableClock) -> None:
    venue.publish([Story(9, "Apple will report tomorrow", FIXED_NOW + timedelta(hours=1), ("AAPL",))])
    (h,) = venue.source(clock, StubScorer()).fetch()
    assert (h.published_at, h.published_estimated) == (FIXED_NOW, True)


def test_an_unscorable_headline_is_kept_unscored(venue: Venue, clock: MutableClock) -> None:
    venue.publish(STORIES)
    scorer = RaisingScorer()
    got = venue.source(clock, scorer).fetch()
    assert len(got) == len(STORIES)
    for h in got:
        assert_contract_fields(h, FIXED_NOW, scorer)
        assert (h.score, h.label, h.scorer_version) == (None, None, "broken-1")


@pytest.mark.parametrize("method", ["fetch", "close"])
def test_every_source_has_the_contract_signature(venue: Venue, clock: MutableClock, method: str) -> None:
    source = venue.source(clock, StubScorer())
    assert inspect.signature(getattr(type(source), method)) == inspect.signature(
        getattr(LiveNewsSource, method)
    )
