"""The synthetic sample market: determinism, the bars-frame contract, and the built-in effects."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from bot.calendar.timeframes import NEW_YORK, TIMEFRAMES
from bot.data.base import BAR_COLUMNS
from bot.data.resample import regular_session_mask, resample_bars
from bot.data.sample import MAX_INTRADAY_SESSIONS, SAMPLE_COMPANIES, SampleFeed
from bot.data.sample_news import HEADLINE_COLUMNS
from bot.errors import DataError

DAY, MINUTE = TIMEFRAMES["1Day"], TIMEFRAMES["1Min"]
SYMBOLS = list(SAMPLE_COMPANIES)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def ny(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=NEW_YORK).tz_convert("UTC")


@pytest.fixture(scope="module")
def feed() -> SampleFeed:
    return SampleFeed()


@pytest.fixture(scope="module")
def daily(feed: SampleFeed) -> dict[str, pd.DataFrame]:
    return feed.history(SYMBOLS, None, None, DAY)


@pytest.fixture(scope="module")
def november(feed: SampleFeed) -> dict[str, pd.DataFrame]:
    """1Min bars of November 2019 (20 sessions, the early close on the 29th included)."""
    return feed.history(SYMBOLS, ny("2019-11-01"), ny("2019-11-30"), MINUTE)


def assert_bars_frame(frame: pd.DataFrame) -> None:
    index = frame.index
    assert isinstance(index, pd.DatetimeIndex) and index.name == "ts"
    assert str(index.tz) == "UTC"
    assert index.is_monotonic_increasing and index.is_unique
    assert list(frame.columns) == list(BAR_COLUMNS)
    assert (frame.dtypes == "float64").all()
    values = frame.to_numpy()
    assert np.isfinite(values).all() and (values > 0).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()


def log_returns(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(close-to-close, previous close-to-open) log returns."""
    close = np.log(frame["close"])
    return close.diff().dropna(), (np.log(frame["open"]) - close.shift()).dropna()


# ----------------------------------------------------------------------------- identity, speed


def test_feed_identity_and_default_universe(feed: SampleFeed) -> None:
    assert feed.name == "sample" and feed.synthetic is True
    assert feed.symbols == ("ACME", "GLBX", "INIT", "UMBR", "HOOL")
    assert SAMPLE_COMPANIES["ACME"] == "Acme Corp" and SAMPLE_COMPANIES["HOOL"] == "Hooli"


def test_full_daily_history_is_fast() -> None:
    began = time.perf_counter()
    frames = SampleFeed(seed=11).history(SYMBOLS, None, None, DAY)
    assert time.perf_counter() - began < 1.5
    assert all(len(f) == 1761 for f in frames.values())  # NYSE sessions 2018-01-02..2024-12-31
    assert frames["ACME"].index[0] == ny("2018-01-02") and frames["ACME"].index[-1] == ny("2024-12-31")


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_market_other_seed_other_market(daily: dict[str, pd.DataFrame]) -> None:
    again = SampleFeed(seed=7)
    for symbol, frame in again.history(SYMBOLS, None, None, DAY).items():
        pd.testing.assert_frame_equal(frame, daily[symbol], check_exact=True)
    start, end = ny("2020-03-09"), ny("2020-03-11 20:00")
    minutes_a = SampleFeed(seed=7).history(["UMBR"], start, end, MINUTE)["UMBR"]
    minutes_b = again.history(["UMBR"], start, end, MINUTE)["UMBR"]
    pd.testing.assert_frame_equal(minutes_a, minutes_b, check_exact=True)

    other = SampleFeed(seed=8).history(["ACME"], None, None, DAY)["ACME"]
    assert not np.allclose(other["close"].to_numpy(), daily["ACME"]["close"].to_numpy())


def test_sub_range_equals_slice_of_full_range(feed: SampleFeed, daily: dict[str, pd.DataFrame]) -> None:
    start, end = ny("2021-06-01"), ny("2021-09-30")
    part = feed.history(["GLBX"], start, end, DAY)["GLBX"]
    pd.testing.assert_frame_equal(part, daily["GLBX"].loc[start:end], check_exact=True)
    # a fresh feed asked only for this range (and only for this symbol) agrees too
    alone = SampleFeed(symbols=["GLBX"]).history(["GLBX"], start, end, DAY)["GLBX"]
    pd.testing.assert_frame_equal(alone, part, check_exact=True)

    week = feed.history(["ACME"], ny("2019-11-18"), ny("2019-11-22 20:00"), MINUTE)["ACME"]
    for timeframe in ("1Min", "15Min", "1Hour"):
        tf = TIMEFRAMES[timeframe]
        wide = feed.history(["ACME"], ny("2019-11-18"), ny("2019-11-22 20:00"), tf)["ACME"]
        lo, hi = ny("2019-11-20 10:07"), ny("2019-11-21 11:00")
        narrow = SampleFeed().history(["ACME"], lo, hi, tf)["ACME"]
        pd.testing.assert_frame_equal(narrow, wide.loc[lo:hi], check_exact=True)
        pd.testing.assert_frame_equal(wide, resample_bars(week, tf), check_exact=True)


# ----------------------------------------------------------------------------- contract


def test_bars_frames_follow_the_contract(
    feed: SampleFeed, daily: dict[str, pd.DataFrame], november: dict[str, pd.DataFrame]
) -> None:
    for frame in daily.values():
        assert_bars_frame(frame)
        local = frame.index.tz_convert(NEW_YORK)
        assert ((local.hour == 0) & (local.minute == 0)).all()  # labelled midnight New York
        assert 20 <= frame["close"].iloc[0] <= 300 and frame["low"].min() > 1
    for frame in november.values():
        assert_bars_frame(frame)
    for timeframe in ("5Min", "15Min", "1Hour"):
        frames = feed.history(SYMBOLS, ny("2019-11-04"), ny("2019-11-08"), TIMEFRAMES[timeframe])
        for frame in frames.values():
            assert_bars_frame(frame)


def test_any_ticker_gets_a_plausible_market_of_its_own(daily: dict[str, pd.DataFrame]) -> None:
    custom = SampleFeed(symbols=["XYZ", "ACME"])
    frames = custom.history(["XYZ", "ACME"], None, None, DAY)
    pd.testing.assert_frame_equal(frames["ACME"], daily["ACME"], check_exact=True)
    assert_bars_frame(frames["XYZ"])
    assert 20 <= frames["XYZ"]["close"].iloc[0] <= 300
    news = custom.headlines(["XYZ"], None, None)
    assert news.loc[news["symbol"] == "XYZ", "title"].str.contains("XYZ").all()


def test_errors_name_the_problem(feed: SampleFeed) -> None:
    with pytest.raises(DataError, match="ZZZZ"):
        feed.history(["ACME", "ZZZZ"], None, None, DAY)
    with pytest.raises(DataError, match="2030-01-01"):
        feed.history(["ACME"], utc("2030-01-01"), utc("2030-02-01"), DAY)
    with pytest.raises(DataError, match="2019-11-30"):  # a Saturday: no session, no bars
        feed.history(["ACME"], ny("2019-11-30 09:00"), ny("2019-11-30 17:00"), MINUTE)
    with pytest.raises(DataError, match="shorter range"):
        feed.history(["ACME"], ny("2019-01-01"), ny("2019-12-31"), MINUTE)
    with pytest.raises(DataError, match="shorter range"):
        feed.history(["ACME"], None, None, TIMEFRAMES["1Hour"])
    assert MAX_INTRADAY_SESSIONS >= 100


def test_latest_is_the_last_bar_of_the_span(feed: SampleFeed, daily: dict[str, pd.DataFrame]) -> None:
    last_day = feed.latest(["HOOL"], DAY)["HOOL"]
    pd.testing.assert_frame_equal(last_day, daily["HOOL"].iloc[-1:])
    last_minute = feed.latest(["HOOL"], MINUTE)["HOOL"]
    assert len(last_minute) == 1 and last_minute.index[0].date().isoformat() in ("2024-12-31", "2025-01-01")


# ----------------------------------------------------------------------------- daily dynamics


def test_volatility_clusters_and_tails_are_fat(daily: dict[str, pd.DataFrame]) -> None:
    for symbol, frame in daily.items():
        returns, _ = log_returns(frame)
        squared = returns**2
        assert squared.autocorr(1) > 0, symbol
        assert sum(squared.autocorr(lag) for lag in range(1, 11)) > 0.3, symbol  # it lasts
        assert returns.kurt() > 0.3, symbol  # excess kurtosis: fatter than normal
        assert 0.10 < returns.std() * np.sqrt(252) < 0.60, symbol


def test_symbols_share_a_market_factor(daily: dict[str, pd.DataFrame]) -> None:
    returns = pd.DataFrame({symbol: log_returns(frame)[0] for symbol, frame in daily.items()})
    corr = returns.corr().to_numpy()
    pairs = corr[np.triu_indices(len(SYMBOLS), k=1)]
    assert (pairs > 0.2).all() and (pairs < 0.7).all()
    assert 0.3 <= pairs.mean() <= 0.6


def test_opens_gap_away_from_the_previous_close(daily: dict[str, pd.DataFrame]) -> None:
    for symbol, frame in daily.items():
        _, gaps = log_returns(frame)
        assert (gaps.abs() > 1e-9).mean() > 0.9, symbol
        assert 0.003 < gaps.std() < 0.03, symbol


def test_volume_is_higher_on_big_move_days(daily: dict[str, pd.DataFrame]) -> None:
    for symbol, frame in daily.items():
        returns, _ = log_returns(frame)
        volume = np.log(frame["volume"]).loc[returns.index]
        big = returns.abs() > returns.abs().quantile(0.9)
        assert volume[big].mean() > volume[~big].mean() + 0.1, symbol


# ----------------------------------------------------------------------------- intraday


def test_regular_minutes_lie_in_the_session_and_respect_early_closes(
    november: dict[str, pd.DataFrame],
) -> None:
    for symbol, frame in november.items():
        local = frame.index.tz_convert(NEW_YORK)
        regular = regular_session_mask(frame.index)
        minute = local.hour * 60 + local.minute
        assert (minute[regular] >= 9 * 60 + 30).all() and (minute[regular] < 16 * 60).all()
        assert set(local[regular].date) == {
            d.date() for d in pd.bdate_range("2019-11-01", "2019-11-29") if d.day != 28
        }  # Thanksgiving
        half_day = local.date == pd.Timestamp("2019-11-29").date()
        assert minute[regular & half_day].max() == 12 * 60 + 59, symbol  # closes 13:00
        assert minute[regular & ~half_day].max() == 15 * 60 + 59, symbol
        assert not (half_day & (minute >= 13 * 60) & (minute < 16 * 60)).any(), symbol


def test_thin_symbol_misses_many_minutes(november: dict[str, pd.DataFrame]) -> None:
    counts = {s: int(regular_session_mask(f.index).sum()) for s, f in november.items()}
    full = 19 * 390 + 210  # 19 full sessions and one half day
    assert counts["UMBR"] < 0.8 * counts["ACME"]
    assert 0.6 * full < counts["UMBR"] < 0.8 * full
    for symbol in ("ACME", "GLBX", "INIT", "HOOL"):
        assert 0.97 * full < counts[symbol] < full, symbol  # a few minutes missing, not none


def test_daily_bar_is_the_aggregate_of_its_regular_minutes(
    feed: SampleFeed, daily: dict[str, pd.DataFrame], november: dict[str, pd.DataFrame]
) -> None:
    for symbol, minutes in november.items():
        aggregate = resample_bars(minutes[regular_session_mask(minutes.index)], DAY)
        pd.testing.assert_frame_equal(aggregate, daily[symbol].loc[aggregate.index], check_exact=True)
        assert len(aggregate) == 20
    edges = (("2018-01-02", "2018-01-03"), ("2020-03-16", "2020-03-17"), ("2024-12-30", "2024-12-31"))
    for first, last in edges:  # the span's first and last sessions, and a wild week
        minutes = feed.history(["UMBR"], ny(first), ny(f"{last} 20:00"), MINUTE)["UMBR"]
        aggregate = resample_bars(minutes[regular_session_mask(minutes.index)], DAY)
        pd.testing.assert_frame_equal(aggregate, daily["UMBR"].loc[aggregate.index], check_exact=True)


def test_extended_hours_prints_exist_but_stay_out_of_daily_bars(
    daily: dict[str, pd.DataFrame], november: dict[str, pd.DataFrame]
) -> None:
    for symbol, minutes in november.items():
        extended = minutes[~regular_session_mask(minutes.index)]
        local = extended.index.tz_convert(NEW_YORK)
        minute = local.hour * 60 + local.minute
        pre, post = minute < 9 * 60 + 30, minute >= 16 * 60
        assert (pre | post).all() and (minute >= 4 * 60).all() and (minute < 20 * 60).all()
        assert pre.sum() >= 20 and post.sum() >= 20, symbol  # some on most days
        assert len(extended) < 0.1 * len(minutes), symbol  # but sparse
        assert extended["volume"].median() < minutes["volume"].median(), symbol
        everything = resample_bars(minutes, DAY)
        days = everything.index
        assert (everything["volume"] > daily[symbol].loc[days, "volume"]).any()


def test_extended_hours_can_be_left_out(november: dict[str, pd.DataFrame]) -> None:
    regular_only = SampleFeed(extended_hours=False)
    start, end = ny("2019-11-25"), ny("2019-11-29 20:00")
    minutes = regular_only.history(["ACME"], start, end, MINUTE)["ACME"]
    full = november["ACME"].loc[start:end]
    pd.testing.assert_frame_equal(minutes, full[regular_session_mask(full.index)], check_exact=True)
    hours = regular_only.history(["ACME"], start, end, TIMEFRAMES["1Hour"])["ACME"]
    pd.testing.assert_frame_equal(hours, resample_bars(minutes, TIMEFRAMES["1Hour"]), check_exact=True)
    with pytest.raises(DataError, match="no 1Min bars"):
        regular_only.history(["ACME"], ny("2019-11-25 04:00"), ny("2019-11-25 09:29"), MINUTE)


# ----------------------------------------------------------------------------- news


def test_headlines_are_dated_and_mention_their_company(feed: SampleFeed) -> None:
    news = feed.headlines(SYMBOLS, None, None)
    assert list(news.columns) == list(HEADLINE_COLUMNS)
    assert str(news["published_at"].dt.tz) == "UTC" and news["published_at"].is_monotonic_increasing
    assert news["guid"].is_unique and (news["source"] == "sample").all()
    assert set(news["symbol"]) == {"", *SYMBOLS}
    for row in news[news["symbol"] != ""].head(200).itertuples():
        assert SAMPLE_COMPANIES[row.symbol] in row.title or row.symbol in row.title
    weeks = 1761 / 5
    per_week = news[news["symbol"] != ""].groupby("symbol").size() / weeks
    assert ((per_week > 1) & (per_week < 3)).all()
    assert 0.3 * weeks < (news["symbol"] == "").sum() < 2 * weeks
    local = news["published_at"].dt.tz_convert(NEW_YORK)
    minute = local.dt.hour * 60 + local.dt.minute
    premarket = (minute >= 6 * 60) & (minute < 9 * 60 + 30)
    assert 0.4 < premarket.mean() < 0.7
    assert (minute >= 16 * 60).mean() > 0.05 and ((minute >= 9 * 60 + 30) & (minute < 16 * 60)).mean() > 0.1


def test_headlines_are_deterministic_and_range_independent(feed: SampleFeed) -> None:
    start, end = utc("2022-05-02"), utc("2022-06-30")
    part = feed.headlines(["INIT"], start, end)
    assert len(part) > 5 and set(part["symbol"]) <= {"", "INIT"}
    full = SampleFeed(seed=7).headlines(SYMBOLS, None, None)
    inside = (full["published_at"] >= start) & (full["published_at"] <= end)
    window = full[inside & full["symbol"].isin(["", "INIT"])]
    pd.testing.assert_frame_equal(part, window.reset_index(drop=True))
    other = SampleFeed(seed=8).headlines(["INIT"], start, end)
    assert not other["published_at"].equals(part["published_at"])
    empty = feed.headlines(["INIT"], utc("2030-01-01"), utc("2030-01-02"))
    assert empty.empty and list(empty.columns) == list(HEADLINE_COLUMNS)


def test_news_moves_the_next_gap_and_only_after_publication(
    feed: SampleFeed, daily: dict[str, pd.DataFrame]
) -> None:
    truth = feed.news_truth(SYMBOLS, None, None)
    truth = truth[(truth["symbol"] != "") & truth["session"].notna()]
    opens = truth["session"].dt.tz_convert(NEW_YORK) + pd.Timedelta(hours=9, minutes=30)
    assert (opens > truth["published_at"]).all()  # the affected session opens after publication
    after, before = {1: [], -1: []}, {1: [], -1: []}
    for symbol, rows in truth.groupby("symbol"):
        _, gaps = log_returns(daily[symbol])
        labels = gaps.index
        for row in rows[rows["tone"] != 0].itertuples():
            position = labels.searchsorted(row.session)
            if 1 <= position < len(labels) and labels[position] == row.session:
                after[row.tone].append(gaps.iloc[position])
                before[row.tone].append(gaps.iloc[position - 1])  # opened before publication
    effect = np.mean(after[1]) - np.mean(after[-1])
    placebo = np.mean(before[1]) - np.mean(before[-1])
    assert effect > 0.002  # built in: 0.003 * strength (mean 1) each way
    assert abs(placebo) < effect / 3


def test_extended_hours_prints_show_news_only_after_publication(feed: SampleFeed) -> None:
    """Around a pre-market headline, the print just after it jumps its way; earlier ones don't."""
    start, end = ny("2020-01-02"), ny("2020-07-01")
    minutes = feed.history(SYMBOLS, start, end, MINUTE)
    truth = feed.news_truth(SYMBOLS, start, end)
    local = truth["published_at"].dt.tz_convert(NEW_YORK)
    premarket = (truth["symbol"] != "") & (truth["tone"] != 0) & (local.dt.hour < 9)
    jumps, drifts = [], []  # tone-signed log steps
    for row in truth[premarket].itertuples():
        date = row.published_at.tz_convert(NEW_YORK).date().isoformat()
        frame = minutes[row.symbol].loc[ny(f"{date} 04:00") : ny(f"{date} 09:29")]
        before, after = frame[frame.index < row.published_at], frame[frame.index >= row.published_at]
        if len(before) >= 2 and len(after):
            # the step between the prints either side of the headline carries it...
            jumps.append(row.tone * np.log(after["close"].iloc[0] / before["close"].iloc[-1]))
            # ...the step between the two prints before it must not anticipate it
            drifts.append(row.tone * np.log(before["close"].iloc[-1] / before["close"].iloc[-2]))
    assert len(jumps) > 30
    assert np.mean(jumps) > 0.0015
    assert abs(np.mean(drifts)) < np.mean(jumps) / 4
