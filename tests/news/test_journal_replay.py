"""``--news journal``: headlines recorded live, through the local feed server, replayed point in time.

The journal is filled by the real ingestion path (``RssFetcher`` over HTTP on 127.0.0.1 ->
``NewsIngestor`` -> ``Journal``) with a hand-moved clock, so first-seen times sit inside the sample
market's history; one test fills it through the real ``python -m bot news`` command instead.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Config, load_config, override
from bot.errors import ConfigError, DataError
from bot.journal.store import open_journal
from bot.news.base import Headline
from bot.news.features import sentiment_features
from bot.news.ingest import NewsIngestor
from bot.news.journal_replay import JournalNewsReplay
from bot.news.replay import make_news_replay

from fakes.feed_docs import Item, rss_document
from fakes.feed_server import FeedServer
from newskit import SMALL_ITEMS, MutableClock, StubScorer, make_fetcher
from testkit import NO_KEYS, TINY_MODEL, query, run_cli, write_config

RSS = {"Content-Type": "application/rss+xml"}
SYMBOLS = ("ACME", "HOOL")
ALIASES = {"ACME": ["Acme Corp"], "HOOL": ["Hooli"]}

T1 = datetime(2018, 12, 3, 15, 0, tzinfo=UTC)  # first poll: Monday 10:00 New York
T2 = datetime(2018, 12, 10, 15, 0, tzinfo=UTC)  # a week later
ACME = Item(
    title="Acme Corp shares jump on record orders",
    link="https://example.com/acme",
    guid="acme-1",
    pub_date="Fri, 30 Nov 2018 13:00:00 GMT",
)  # backdated: claims 3 days before the bot saw it
MARKET = Item(
    title="Stocks slip as bond yields climb",
    link="https://example.com/mkt",
    guid="mkt-1",
    pub_date="Mon, 03 Dec 2018 14:30:00 GMT",
)
HOOLI = Item(
    title="Hooli unveils a new phone",
    link="https://example.com/hool",
    guid="hool-1",
    pub_date="Mon, 10 Dec 2018 14:45:00 GMT",
)
# the Acme story again, from another feed, seen a week after the first sighting
ACME_AGAIN = Item(
    title="ACME CORP shares jump on record orders!",
    link="https://example.com/acme-2",
    guid="other-acme",
    pub_date="Fri, 30 Nov 2018 13:00:00 GMT",
)


def fill_journal(path: Path, server: FeedServer) -> None:
    """Two polls of a general feed (T1, T2), then a restarted ingestor whose new feed repeats a story."""
    general = server.route("/general.xml", rss_document([ACME, MARKET]), headers=RSS)
    clock = MutableClock(T1)
    journal = open_journal(path)
    try:
        fetcher = make_fetcher([general], clock=clock, symbols=SYMBOLS, aliases=ALIASES)
        ingestor = NewsIngestor([fetcher], journal, StubScorer())
        assert [h.title for h in ingestor.fetch()] == [ACME.title, MARKET.title]
        server.route("/general.xml", rss_document([ACME, MARKET, HOOLI]), headers=RSS)
        clock.now = T2
        assert [h.title for h in ingestor.fetch()] == [HOOLI.title]
        other = server.route("/other.xml", rss_document([ACME_AGAIN]), headers=RSS)
        restarted = NewsIngestor(
            [make_fetcher([other], clock=clock, symbols=SYMBOLS, aliases=ALIASES)], journal, StubScorer()
        )
        assert restarted.fetch() == []  # stored (another source), but the story is not new
    finally:
        journal.close()


def stored_rows(path: Path) -> list[tuple]:
    sql = "SELECT source, guid, published_at, fetched_at, symbols FROM headlines ORDER BY id"
    return [tuple(row) for row in query(path, sql)]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Iterator[tuple[Path, Path, str]]:
    """(folder, config, general feed URL): a config whose journal.path holds the recorded headlines."""
    tmp = tmp_path_factory.mktemp("journal_replay")
    server = FeedServer().start()
    try:
        fill_journal(tmp / "journal.sqlite", server)
        yield tmp, write_config(tmp, TINY_MODEL), server.url("/general.xml")
    finally:
        server.stop()


def cli_json(result) -> dict:
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def one_line_error(result, *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


# ------------------------------------------------------------------------- the replay source


def test_the_journal_keeps_what_the_live_run_saw(recorded):
    tmp, _config, general = recorded
    rows = stored_rows(tmp / "journal.sqlite")
    assert [(r[0], r[1]) for r in rows] == [
        (f"rss:{general}", "acme-1"),
        (f"rss:{general}", "mkt-1"),
        (f"rss:{general}", "hool-1"),
        (rows[3][0], "other-acme"),
    ]
    assert rows[0][2] == "2018-11-30T13:00:00+00:00" and rows[0][3] == T1.isoformat()  # claimed < first seen


def test_replay_gives_each_story_once_known_from_its_first_sighting(recorded):
    tmp, config, general = recorded
    replay = make_news_replay(
        override(Config(), "news", "t", replay=f"journal:{tmp / 'journal.sqlite'}"), None
    )
    assert isinstance(replay, JournalNewsReplay) and replay.synthetic is False
    got = replay.headlines(["ACME", "HOOL"], None, None)
    assert [(h.title, h.published_at, h.fetched_at, h.symbols) for h in got] == [
        (ACME.title, T1, T1, ("ACME",)),  # claimed 2018-11-30: known only from T1
        (MARKET.title, T1, T1, ()),  # claimed 14:30, first seen 15:00
        (HOOLI.title, T2, T2, ("HOOL",)),
    ]
    assert got[0].source == f"rss:{general}" and got[0].guid == "acme-1"  # the first sighting, not the repeat
    assert got[0].link == ACME.link and got[0].scorer_version == StubScorer.version
    # symbols filter as in the CSV replay: the symbol's headlines plus the market-wide ones
    assert [h.title for h in replay.headlines(["HOOL"], None, None)] == [MARKET.title, HOOLI.title]
    # 'journal' reads the config file's journal.path
    default = make_news_replay(override(load_config(config), "news", "t", replay="journal"), None)
    assert default.name == f"journal:{tmp / 'journal.sqlite'}"
    assert default.headlines(["ACME", "HOOL"], None, None) == got


def test_a_headline_is_invisible_before_it_was_first_seen(recorded):
    tmp, _config, _general = recorded
    replay = JournalNewsReplay(tmp / "journal.sqlite")
    # over its claimed publication day (and up to a microsecond before T1): nothing
    with pytest.raises(
        DataError, match=r"no headlines first seen between 2018-11-30T00:00:00 and 2018-12-03T14:59:59"
    ):
        replay.headlines(["ACME"], datetime(2018, 11, 30, tzinfo=UTC), T1 - timedelta(microseconds=1))
    assert [h.title for h in replay.headlines(["ACME"], T1, T1)] == [ACME.title, MARKET.title]
    # the repeat seen at T2 is not a new story
    assert replay.headlines(["ACME"], T1 + timedelta(seconds=1), T2 + timedelta(days=1)) == []
    # and the sentiment features (windowed on published_at) count it from T1 on, never before
    headlines = replay.headlines(["ACME"], None, None)
    features = sentiment_features(headlines, [T1 - timedelta(seconds=1), T1], ["ACME"], Config().sentiment)
    assert features["ACME"]["sent_count"].tolist() == [0, 1]
    assert features["ACME"]["market_count"].tolist() == [0, 1]


def test_only_live_sightings_are_replayed(tmp_path):
    path = tmp_path / "journal.sqlite"
    when = datetime(2019, 1, 2, 15, tzinfo=UTC)

    def headline(source: str, guid: str, title: str) -> Headline:
        return Headline(source=source, guid=guid, title=title, published_at=when, fetched_at=when)

    with open_journal(path) as journal:  # what simulations write back: never seen live
        journal.record_headlines(
            [
                headline("sample", "s-1", "Acme Corp wins a contract"),
                headline("csv:/data/news.csv", "c-1", "Globex misses estimates"),
            ]
        )
    with pytest.raises(DataError, match="no live headlines yet"):
        JournalNewsReplay(path)
    with open_journal(path) as journal:
        journal.record_headlines([headline("alpaca", "7", "Initech cuts its outlook")])
    assert [h.title for h in JournalNewsReplay(path).headlines([], None, None)] == [
        "Initech cuts its outlook"
    ]


def test_reads_a_journal_a_daemon_is_writing(recorded, tmp_path):
    tmp, _config, _general = recorded
    copy = tmp_path / "journal.sqlite"
    with sqlite3.connect(tmp / "journal.sqlite") as source, sqlite3.connect(copy) as target:
        source.backup(target)
    daemon = open_journal(copy)  # WAL mode, read-write, like the running daemon
    try:
        daemon._db.execute("BEGIN IMMEDIATE")  # and in the middle of a write
        daemon._db.execute("DELETE FROM headlines WHERE guid = 'hool-1'")
        assert len(JournalNewsReplay(copy).headlines(["HOOL"], None, None)) == 2  # committed state
        daemon._db.execute("COMMIT")
        assert len(JournalNewsReplay(copy).headlines(["HOOL"], None, None)) == 1
    finally:
        daemon.close()


def test_missing_or_foreign_files_are_config_errors(tmp_path):
    missing = tmp_path / "absent.sqlite"
    with pytest.raises(ConfigError, match=r"news.replay = 'journal'.*no journal file at"):
        JournalNewsReplay(missing)
    assert not missing.exists()  # read-only: never created
    foreign = tmp_path / "other.sqlite"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(ConfigError, match="cannot read .* as a bot journal"):
        JournalNewsReplay(foreign)


def test_config_accepts_journal_choices():
    for choice in ("journal", "journal:elsewhere/journal.sqlite"):
        assert override(Config(), "news", "t", replay=choice).news.replay == choice
    with pytest.raises(ConfigError, match=r"news.replay: expected .*'journal' or 'journal:PATH'"):
        override(Config(), "news", "t", replay="journal:")


# ------------------------------------------------------------------------------ the real CLI


def test_news_command_then_replay_knows_headlines_from_the_fetch(feed_server, tmp_path):
    feed = feed_server.route("/small.xml", rss_document(SMALL_ITEMS), headers=RSS)
    config = write_config(
        tmp_path,
        f"""
[data]
symbols = ["AAPL", "MSFT"]
[news]
feeds = ["{feed}"]
aliases = {{ AAPL = ["Apple"], MSFT = ["Microsoft"] }}
timeout_seconds = 0.5
replay = "journal"
""",
    )
    before = datetime.now(UTC)
    result = run_cli("news", "--once", "--config", str(config), env=NO_KEYS, timeout=60)
    after = datetime.now(UTC)
    assert result.returncode == 0, result.stderr
    got = make_news_replay(load_config(config), None).headlines(["AAPL", "MSFT"], None, None)
    assert [h.title for h in got] == [i.title for i in SMALL_ITEMS]  # claimed January 2024 ...
    assert all(before <= h.published_at == h.fetched_at <= after for h in got)  # ... known from the fetch
    assert [h.symbols for h in got] == [("AAPL",), ("MSFT",), ()]


def test_simulate_replays_the_journal(recorded):
    tmp, config, _general = recorded
    before = stored_rows(tmp / "journal.sqlite")
    result = run_cli(
        "simulate",
        "--config",
        str(config),
        "--news",
        "journal",
        "--start",
        "2018-11-01",
        "--end",
        "2018-12-31",
        "--strategy",
        "sma_cross",
        "--json",
        cwd=tmp,
    )
    summary = cli_json(result)
    assert summary["headlines"] == 3 and summary["news_source"] == f"journal:{tmp / 'journal.sqlite'}"
    assert stored_rows(tmp / "journal.sqlite") == before  # the replayed headlines are the stored ones


def test_evaluate_replays_the_journal(recorded):
    tmp, config, _general = recorded
    result = run_cli(
        "evaluate",
        "--config",
        str(config),
        "--news",
        "journal",
        "--start",
        "2018-01-02",
        "--end",
        "2018-12-31",
        "--json",
        cwd=tmp,
    )
    out = cli_json(result)
    assert out["headlines"] == 3 and out["folds"]


def test_a_missing_journal_is_a_one_line_error(tmp_path):
    config = str(write_config(tmp_path))
    result = run_cli(
        "evaluate",
        "--config",
        config,
        "--news",
        "journal",
        "--start",
        "2018-01-02",
        "--end",
        "2018-12-31",
        cwd=tmp_path,
    )
    one_line_error(result, "news.replay = 'journal' (journal.path)", str(tmp_path / "journal.sqlite"))
    absent = tmp_path / "absent.sqlite"
    result = run_cli(
        "simulate",
        "--config",
        config,
        "--news",
        f"journal:{absent}",
        "--start",
        "2018-11-01",
        "--end",
        "2018-12-31",
        "--strategy",
        "sma_cross",
        cwd=tmp_path,
    )
    one_line_error(result, f"news.replay = 'journal:{absent}'", "no journal file")
    assert not absent.exists()
