"""NewsIngestor: RSS (and other live sources) -> the journal -> what is new."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.journal.store import Journal
from bot.news.base import Headline, LiveNewsSource
from bot.news.ingest import NewsIngestor

from fakes.feed_docs import Item, rss_document
from newskit import FIXED_NOW, SMALL_ITEMS, MutableClock, RaisingScorer, StubScorer, make_fetcher

RSS = {"Content-Type": "application/rss+xml"}


class ListSource(LiveNewsSource):
    def __init__(self, headlines: list[Headline]) -> None:
        self.headlines = headlines

    def fetch(self) -> list[Headline]:
        out, self.headlines = self.headlines, []
        return out


class CrashingSource(LiveNewsSource):
    def fetch(self) -> list[Headline]:
        raise RuntimeError("a bug in a source")


def headline(title: str, guid: str, source: str = "alpaca") -> Headline:
    return Headline(
        source=source,
        guid=guid,
        title=title,
        published_at=FIXED_NOW - timedelta(hours=1),
        fetched_at=FIXED_NOW,
    )


@pytest.fixture
def journal(tmp_path):
    with Journal(tmp_path / "journal.sqlite") as j:
        yield j


def rows(journal: Journal) -> list:
    return journal.query("SELECT source, guid, score, label, scorer_version FROM headlines ORDER BY id")


def test_every_headline_is_stored_once_with_its_score(feed_server, journal):
    url = feed_server.route("/a.xml", rss_document(SMALL_ITEMS), headers=RSS)
    ingestor = NewsIngestor([make_fetcher([url], clock=MutableClock())], journal, StubScorer())
    new = ingestor.fetch()
    assert len(new) == 3
    stored = rows(journal)
    assert [(r["guid"], r["score"], r["scorer_version"]) for r in stored] == [
        ("small-1", 0.5, "stub-1"),
        ("small-2", -0.25, "stub-1"),
        ("small-3", -0.25, "stub-1"),
    ]
    assert ingestor.fetch() == []  # nothing new on the feed
    assert len(rows(journal)) == 3


def test_a_new_process_sees_the_journal_and_returns_nothing_twice(feed_server, journal):
    url = feed_server.route("/a.xml", rss_document(SMALL_ITEMS), headers=RSS)
    assert len(NewsIngestor([make_fetcher([url], clock=MutableClock())], journal, StubScorer()).fetch()) == 3
    # a fresh fetcher has no memory: the journal's title keys stop the repeats
    again = NewsIngestor([make_fetcher([url], clock=MutableClock())], journal, StubScorer())
    assert again.fetch() == [] and len(rows(journal)) == 3


def test_an_unscorable_headline_is_still_stored(feed_server, journal):
    url = feed_server.route("/a.xml", rss_document(SMALL_ITEMS[:2]), headers=RSS)
    fetcher = make_fetcher([url], clock=MutableClock(), scorer=RaisingScorer())
    new = NewsIngestor([fetcher], journal, RaisingScorer()).fetch()
    assert [(h.score, h.label, h.scorer_version) for h in new] == [(None, None, "broken-1")] * 2
    stored = [(r["score"], r["label"], r["scorer_version"]) for r in rows(journal)]
    assert stored == [(None, None, "broken-1")] * 2


def test_unscored_headlines_from_a_source_are_scored_by_the_ingestor(journal):
    source = ListSource([headline("Chip stocks jump", "1"), headline("Chip stocks slump", "2")])
    new = NewsIngestor([source], journal, StubScorer()).fetch()
    assert [(h.score, h.scorer_version) for h in new] == [(0.5, "stub-1"), (-0.25, "stub-1")]


def test_the_same_story_from_two_sources_is_stored_twice_returned_once(feed_server, journal):
    fed = Item(title="Fed holds rates steady", guid="r1")
    url = feed_server.route("/a.xml", rss_document([fed]), headers=RSS)
    alpaca = ListSource([headline("Fed Holds Rates Steady", "991"), headline("Tesla recalls cars", "992")])
    new = NewsIngestor([make_fetcher([url], clock=MutableClock()), alpaca], journal, StubScorer()).fetch()
    assert [(h.source, h.title) for h in new] == [
        (f"rss:{url}", "Fed holds rates steady"),
        ("alpaca", "Tesla recalls cars"),
    ]
    assert sorted(r["source"] for r in rows(journal)) == ["alpaca", "alpaca", f"rss:{url}"]


def test_a_failing_source_loses_nothing_already_fetched(feed_server, journal):
    url = feed_server.route("/a.xml", rss_document(SMALL_ITEMS), headers=RSS)
    dead = feed_server.url("/gone.xml")  # 404
    ingestor = NewsIngestor(
        [
            make_fetcher([url, dead], clock=MutableClock()),
            CrashingSource(),
            ListSource([headline("Late story", "7")]),
        ],
        journal,
        StubScorer(),
    )
    new = ingestor.fetch()
    assert len(new) == 4 and len(rows(journal)) == 4
    report = ingestor.last_report
    assert (report.attempted, report.failed, report.all_failed) == (4, 2, False)


def test_a_feed_that_rotates_guids_stores_each_story_once(feed_server, journal):
    """Some feeds mint a new guid (and link) on every request: the same story from the same source
    within the repeat window is stored once, and the repeats are counted in the log. Each round
    is a fresh fetcher (a restarted daemon, or `news --once` from cron): its in-memory memory of
    titles is gone, only the journal remembers."""
    from structlog.testing import capture_logs

    clock = MutableClock()
    for k in range(3):
        ingestor = NewsIngestor(
            [make_fetcher([feed_server.url("/rot.xml")], clock=clock)], journal, StubScorer()
        )
        items = [
            Item(title="Acme recalls two million cars", guid=f"rot-{k}", link=f"https://example.com/{k}")
        ]
        feed_server.route("/rot.xml", rss_document(items), headers=RSS)
        clock.now += timedelta(minutes=10)
        with capture_logs() as logs:
            new = ingestor.fetch()
        assert len(new) == (1 if k == 0 else 0)
        dropped = [e for e in logs if e["event"] == "news_repeats_dropped"]
        assert (dropped[0]["repeats"] if dropped else 0) == (0 if k == 0 else 1)
    assert [r["guid"] for r in rows(journal)] == ["rot-0"]
    # another source telling the same story is still stored (and still not handed out twice)
    other = NewsIngestor(
        [ListSource([headline("Acme recalls two million cars", "a-1")])], journal, StubScorer()
    )
    assert other.fetch() == [] and len(rows(journal)) == 2
