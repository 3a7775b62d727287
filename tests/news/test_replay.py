"""Replay sources: the shared CSV formats, tolerant reading of odd files, the sample market."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bot.config import Config, override
from bot.data.sample import SampleFeed
from bot.errors import DataError
from bot.news.base import Headline, ReplayNewsSource
from bot.news.replay import CsvNewsReplay, SampleNewsReplay, make_news_replay, parse_time, replay_scored

from testkit import require_shared_data


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text.lstrip(), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ shared files


def test_benzinga_sample_is_read_with_new_york_offsets():
    path = require_shared_data("news", "benzinga_headlines_sample.csv")
    with capture_logs() as logs:
        replay = CsvNewsReplay(path)
    every = replay.headlines(["AAPL"], None, None)
    assert len(every) == 469 and all(h.symbols == ("AAPL",) for h in every)
    assert every[0].published_at == utc(2020, 3, 9, 16, 0)
    assert every[-1].published_at == utc(2020, 6, 10, 15, 33)
    assert [h.published_at for h in every] == sorted(h.published_at for h in every)
    # 9,993 rows: 4 broken rows (a title split over two records, twice) are skipped, and 33 rows
    # that repeat (time, title, stock) exactly are one headline each
    assert replay.skipped_rows == 4
    warning = [e for e in logs if e["event"] == "news_rows_skipped"]
    assert len(warning) == 1 and warning[0]["rows"] == 4
    assert warning[0]["first_lines"] == [2300, 2301, 3570, 3571]
    assert len(replay._all) == 9956
    assert replay._all[0].published_at == utc(2009, 4, 29, 12, 48)
    assert replay._all[-1].published_at == utc(2020, 6, 10, 19, 17)
    first_a = replay.headlines(["A"], utc(2020, 6, 5, 14, 30), utc(2020, 6, 5, 14, 30))
    assert [h.title for h in first_a] == ["Stocks That Hit 52-Week Highs On Friday"]  # 10:30 -04:00
    h = first_a[0]
    assert h.source == f"csv:{path}" and h.guid.startswith("sha1:") and h.fetched_at == h.published_at
    assert h.published_at.utcoffset().total_seconds() == 0 and not h.published_estimated


def test_bbc_rss_items_are_market_wide_with_rfc822_dates_and_their_guids():
    path = require_shared_data("news", "bbc_business_rss_items.csv")
    replay = CsvNewsReplay(path)
    every = replay.headlines(["AAPL"], None, None)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    earliest: dict[str, datetime] = {}
    for row in rows:
        when = parsedate_to_datetime(row["pubDate"])
        earliest[row["guid"]] = min(earliest.get(row["guid"], when), when)
    # 2,656 items, 1,996 distinct guids: a guid seen again (an updated article) keeps its first sighting
    assert len(rows) == 2656 and len(every) == len(earliest) == 1996
    assert {h.guid: h.published_at for h in every} == earliest
    assert all(h.symbols == () for h in every) and replay.skipped_rows == 0
    assert every[0].published_at == utc(2022, 3, 4, 22, 9, 49)
    assert every[-1].published_at == utc(2024, 11, 7, 13, 6, 10)
    first = every[0]
    assert first.title == "Five ways the Ukraine war could push up prices"
    assert first.summary.startswith("Prices for everyday items")
    assert first.link.startswith(first.guid + "?at_medium=RSS")


# ------------------------------------------------------------------------------ odd files


def test_naive_times_are_new_york_and_dates_count_from_the_end_of_the_day(tmp_path):
    path = write_csv(
        tmp_path / "n.csv",
        """
Headline,Published,Ticker,Description
Winter open,2021-01-04 09:30:00,acme,in EST
Summer open,2021-07-01T09:30,ACME,in EDT
Dated only,2021-07-01,GLBX,no time of day
Zulu,2021-07-01T12:00:00Z,GLBX,
Spelled UTC,2021-07-01 12:00:01 UTC,GLBX,
""",
    )
    got = {h.title: h for h in CsvNewsReplay(path).headlines(["ACME", "GLBX"], None, None)}
    assert got["Winter open"].published_at == utc(2021, 1, 4, 14, 30)
    assert got["Summer open"].published_at == utc(2021, 7, 1, 13, 30)
    assert got["Winter open"].symbols == ("ACME",) and got["Winter open"].summary == "in EST"
    dated = got["Dated only"]
    assert dated.published_at == utc(2021, 7, 2, 3, 59, 59) and dated.published_estimated
    assert got["Zulu"].published_at == utc(2021, 7, 1, 12)
    assert got["Spelled UTC"].published_at == utc(2021, 7, 1, 12, 0, 1)


def test_a_missing_title_or_time_column_names_the_file_and_the_columns(tmp_path):
    path = write_csv(tmp_path / "bad.csv", "when,text\n2021-01-04,hello\n")
    with pytest.raises(DataError) as err:
        CsvNewsReplay(path)
    message = str(err.value)
    assert str(path) in message and "'when'" in message and "'text'" in message
    assert "time" in message and "title" in message
    with pytest.raises(DataError, match="does not exist"):
        CsvNewsReplay(tmp_path / "absent.csv")


def test_rows_with_a_bad_time_are_skipped_with_one_warning(tmp_path):
    path = write_csv(
        tmp_path / "t.csv",
        """
title,date,stock
Good one,2021-01-04 09:30:00-05:00,ACME
Bad one,yesterday,ACME
Empty time,,ACME
,2021-01-05 09:30:00-05:00,ACME
Good two,"Tue, 05 Jan 2021 15:00:00 GMT",ACME
""",
    )
    with capture_logs() as logs:
        replay = CsvNewsReplay(path)
    assert [h.title for h in replay.headlines(["ACME"], None, None)] == ["Good one", "Good two"]
    assert replay.skipped_rows == 3
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert len(warnings) == 1 and warnings[0]["rows"] == 3 and warnings[0]["first_lines"] == [3, 4, 5]


def test_a_wholly_unusable_time_column_is_an_error_naming_file_and_line(tmp_path):
    path = write_csv(tmp_path / "u.csv", "title,time\nOne,soon\nTwo,later\n")
    with pytest.raises(DataError, match=rf"{path}: line 2: .*'soon'"):
        CsvNewsReplay(path)


def test_selection_by_time_and_symbol_with_guids_and_a_matcher(tmp_path):
    path = write_csv(
        tmp_path / "s.csv",
        """
published_at,title,symbols,guid
2021-01-04T15:00:00Z,Market wide,,g1
2021-01-04T14:00:00Z,Two names,"ACME, GLBX",g2
2021-01-04T16:00:00Z,Other,INIT,g3
2021-01-04T16:00:00Z,Acme later,ACME,
""",
    )
    replay = CsvNewsReplay(path)
    window = replay.headlines(["ACME"], utc(2021, 1, 4, 14), utc(2021, 1, 4, 16))  # both ends included
    assert [h.title for h in window] == ["Two names", "Market wide", "Acme later"]
    assert window[0].symbols == ("ACME", "GLBX") and window[0].guid == "g2"
    assert window[2].guid == CsvNewsReplay(path).headlines(["ACME"], None, None)[-1].guid  # stable hash
    inner = replay.headlines(["ACME"], utc(2021, 1, 4, 14, 0, 1), utc(2021, 1, 4, 15, 59, 59))
    assert [h.title for h in inner] == ["Market wide"]

    plain = write_csv(tmp_path / "p.csv", "title,date\nAcme wins,2021-01-04\nRates rise,2021-01-05\n")
    matched = CsvNewsReplay(plain, matcher=lambda text: ["ACME"] if "Acme" in text else [])
    assert [h.symbols for h in matched.headlines(["ACME"], None, None)] == [("ACME",), ()]


def test_parse_time_spellings():
    assert parse_time("Mon, 07 Mar 2022 00:14:42 GMT") == (utc(2022, 3, 7, 0, 14, 42), False)
    assert parse_time("Mon, 07 Mar 2022 00:14:42 -0500") == (utc(2022, 3, 7, 5, 14, 42), False)
    assert parse_time("2020-06-05 10:30:00-04:00") == (utc(2020, 6, 5, 14, 30), False)
    assert parse_time("AAN") is None and parse_time("") is None and parse_time("2021-13-45") is None


# ------------------------------------------------------------------------------ sample and factory


def test_sample_replay_adapts_the_sample_feed():
    feed = SampleFeed()
    start, end = utc(2022, 1, 1), utc(2022, 3, 31)
    replay = SampleNewsReplay(feed)
    got = replay.headlines(["ACME", "GLBX"], start, end)
    frame = feed.headlines(["ACME", "GLBX"], start, end)
    assert replay.synthetic and replay.name == "sample" and len(got) == len(frame) > 20
    assert [h.guid for h in got] == frame["guid"].tolist()
    assert {h.symbols for h in got} == {("ACME",), ("GLBX",), ()}
    assert all(h.source == "sample" and h.fetched_at == h.published_at for h in got)
    assert all(start <= h.published_at <= end for h in got)
    assert [h.published_at for h in got] == sorted(h.published_at for h in got)


def test_make_news_replay_follows_the_config(tmp_path):
    sample = SampleFeed()
    assert make_news_replay(override(Config(), "news", "t", replay="none"), sample) is None
    assert isinstance(make_news_replay(Config(), sample), SampleNewsReplay)
    write_csv(tmp_path / "ACME.csv", "date,open,high,low,close,volume\n2021-01-04,1,1,1,1,1\n")
    from bot.data.csv_feed import CsvFeed

    with capture_logs() as logs:
        assert make_news_replay(Config(), CsvFeed(tmp_path)) is None
    assert logs[0]["event"] == "news_replay_off" and "no sample headlines" in logs[0]["reason"]
    write_csv(tmp_path / "news.csv", "title,date\nHello,2021-01-04\n")
    relative = Config(base_dir=tmp_path)
    replay = make_news_replay(override(relative, "news", "t", replay="csv:news.csv"), sample)
    assert isinstance(replay, CsvNewsReplay) and replay.path == tmp_path / "news.csv"


class CountingScorer:
    version = "counting-1"

    def __init__(self) -> None:
        self.calls = 0

    def score(self, text: str) -> float:
        self.calls += 1
        if "boom" in text:
            raise ValueError("unscorable")
        return 0.5

    def label(self, score: float) -> str:
        return "positive"


def test_replay_scored_scores_each_distinct_title_once():
    rows = [("Same", utc(2021, 1, 4, h)) for h in range(3)] + [("boom", utc(2021, 1, 5))]

    class Fixed(ReplayNewsSource):
        def headlines(self, symbols, start, end):
            return [Headline("t", f"g{i}", title, ts, ts) for i, (title, ts) in enumerate(rows)]

    scorer = CountingScorer()
    got = replay_scored(Fixed(), scorer, ["ACME"], None, None)
    assert scorer.calls == 2 and [h.guid for h in got] == ["g0", "g1", "g2", "g3"]
    assert [(h.score, h.label, h.scorer_version) for h in got[:3]] == [(0.5, "positive", "counting-1")] * 3
    assert (got[3].score, got[3].scorer_version) == (None, "counting-1")
