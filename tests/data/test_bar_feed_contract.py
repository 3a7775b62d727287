"""One suite, every bar feed: the ``BarFeed`` contract table of ``bot.data.base``.

Runs against ``SampleFeed`` (its own synthetic market), ``CsvFeed`` on a tiny folder of minute
files, and ``AlpacaFeed`` (the real alpaca-py client) against the local fake serving the same
minutes. A ``Case`` says where each feed has data: three sessions, a last session (for ``latest``),
a span without bars. The CSV and Alpaca data sit on the last weekdays before today, so that the
live feed's "up to now" and "the last days" reach them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
import pytest

from bot.calendar.timeframes import NEW_YORK, TIMEFRAMES, Timeframe
from bot.data.alpaca_feed import AlpacaFeed
from bot.data.base import BAR_COLUMNS, BarFeed, NoBarsError
from bot.data.csv_feed import CsvFeed
from bot.data.resample import regular_session_mask, resample_bars
from bot.data.sample import SampleFeed

from fakes.alpaca_data import DataFakeServer

DAY, HOUR, MIN15, MIN5, MINUTE = (TIMEFRAMES[n] for n in ("1Day", "1Hour", "15Min", "5Min", "1Min"))
INTRADAY = (MINUTE, MIN5, MIN15, HOUR)
KEY, SECRET = "PKTESTKEY0001", "test-secret-0001"
# what AlpacaFeed asks the server for: every timeframe, and 30Min for session-aligned hours
SERVED = {**TIMEFRAMES, "30Min": Timeframe("30Min", 30)}


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[bool], BarFeed]  # extended_hours -> a feed
    symbols: tuple[str, str]
    days: tuple[date, date, date]  # three sessions in a row with data
    last_day: date  # the feed's last session
    empty: tuple[date, date]  # a span without bars

    def ny(self, day: date, hour: int = 0, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), NEW_YORK)


# -- the CSV and Alpaca data ----------------------------------------------------------------------


def recent_weekdays(count: int) -> tuple[date, ...]:
    """The ``count`` weekdays before today in New York (today's bars may lie in the future)."""
    day, out = datetime.now(NEW_YORK).date(), []
    while len(out) < count:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            out.append(day)
    return tuple(reversed(out))


def minute_bars(days: tuple[date, ...], seed: int) -> pd.DataFrame:
    """Valid 1Min bars: thin pre-market (08:00) and post-market (to 18:00) prints around a session
    that misses a few minutes; a random walk."""
    rng = np.random.default_rng(seed)
    stamps = []
    for day in days:
        start = pd.Timestamp(datetime.combine(day, time(8, 0), NEW_YORK))
        for i in range(10 * 60):
            minute = 8 * 60 + i
            regular = 9 * 60 + 30 <= minute < 16 * 60
            if (regular and rng.random() > 0.03) or (not regular and i % 7 == 0):
                stamps.append(start + pd.Timedelta(minutes=i))
    index = pd.DatetimeIndex(stamps).tz_convert("UTC").as_unit("ns").rename("ts")
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, len(index))))
    open_ = close * (1 + rng.normal(0, 0.0005, len(index)))
    spread = np.abs(rng.normal(0, 0.0008, len(index))) * close
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.integers(100, 10_000, len(index)).astype(float),
        },
        index=index,
    )


def served_frame(minutes: pd.DataFrame, timeframe: Timeframe) -> pd.DataFrame:
    """What the fake sends as ``timeframe`` bars: every print aggregated (as Alpaca's intraday bars
    are), daily bars from the session."""
    if timeframe.is_daily:
        return resample_bars(minutes[regular_session_mask(minutes.index)], DAY)
    return resample_bars(minutes, timeframe)


# -- the cases ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recent() -> tuple[tuple[date, ...], dict[str, pd.DataFrame]]:
    days = recent_weekdays(3)
    return days, {"AAPL": minute_bars(days, seed=1), "MSFT": minute_bars(days, seed=2)}


@pytest.fixture(scope="module", params=["sample", "csv", "alpaca"])
def case(
    request: pytest.FixtureRequest,
    recent: tuple[tuple[date, date, date], dict[str, pd.DataFrame]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Case]:
    if request.param == "sample":
        yield Case(
            "sample",
            lambda extended: SampleFeed(extended_hours=extended),
            ("ACME", "GLBX"),
            (date(2019, 11, 19), date(2019, 11, 20), date(2019, 11, 21)),
            date(2024, 12, 31),
            (date(2017, 1, 3), date(2017, 1, 6)),
        )
        return
    days, data = recent
    symbols = tuple(data)
    empty = (days[0] - timedelta(days=60), days[0] - timedelta(days=30))
    if request.param == "csv":
        folder = tmp_path_factory.mktemp("csv_feed")
        for symbol, frame in data.items():
            out = frame.copy()
            out.index = out.index.strftime("%Y-%m-%dT%H:%M:%S+00:00")
            out.to_csv(folder / f"{symbol}.csv", index_label="ts")
        yield Case(
            "csv", lambda extended: CsvFeed(folder, extended_hours=extended), symbols, days, days[-1], empty
        )
        return
    server = DataFakeServer(key_id=KEY, secret_key=SECRET).start()
    try:
        for symbol, frame in data.items():
            for name, timeframe in SERVED.items():
                server.load(symbol, name, served_frame(frame, timeframe))

        def make(extended: bool) -> BarFeed:
            return AlpacaFeed(
                api_key=KEY,
                secret_key=SECRET,
                data_url=server.url,
                timeout_seconds=2.0,
                max_retries=1,
                backoff_seconds=0.01,
                extended_hours=extended,
            )

        yield Case("alpaca", make, symbols, days, days[-1], empty)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def feed(case: Case) -> BarFeed:
    return case.make(False)


# -- checks ---------------------------------------------------------------------------------------


def assert_bars_frame(frame: pd.DataFrame, timeframe: Timeframe, *, extended: bool = False) -> None:
    """The bars-frame shape of ``bot.data.base``, on ``timeframe``'s grid, in the session unless
    ``extended``."""
    index = frame.index
    assert isinstance(index, pd.DatetimeIndex) and index.name == "ts" and str(index.tz) == "UTC"
    assert index.is_monotonic_increasing and index.is_unique and len(index)
    assert list(frame.columns) == list(BAR_COLUMNS) and (frame.dtypes == "float64").all()
    values = frame.to_numpy()
    assert np.isfinite(values).all() and (values > 0).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    local = index.tz_convert(NEW_YORK)
    minute = local.hour * 60 + local.minute
    assert (local.second == 0).all() and (local.day_of_week < 5).all()
    if timeframe.is_daily:
        assert (minute == 0).all()  # midnight New York
        return
    assert (minute % timeframe.minutes == 0).all()
    if not extended:  # each bar overlaps 09:30-16:00 (an hour bar at 09:00 holds 09:30-09:59)
        assert ((minute + timeframe.minutes > 9 * 60 + 30) & (minute < 16 * 60)).all()


def same_bars(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    # CSV text and JSON round trips may move a float by an ulp; sums of volumes too
    pd.testing.assert_frame_equal(
        got, expected, check_freq=False, check_exact=False, rtol=1e-12, check_index_type=False
    )
    assert got.index.equals(expected.index)


def days_span(case: Case) -> tuple[date, date]:
    return case.days[0], case.days[-1]


# -- history ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("timeframe", [*INTRADAY, DAY], ids=lambda tf: tf.name)
def test_history_gives_a_bars_frame_per_symbol_on_the_timeframe(
    case: Case, feed: BarFeed, timeframe: Timeframe
) -> None:
    frames = feed.history(list(case.symbols), *days_span(case), timeframe)
    assert list(frames) == list(case.symbols)
    for frame in frames.values():
        assert_bars_frame(frame, timeframe)
        first, last = frame.index[0].tz_convert(NEW_YORK).date(), frame.index[-1].tz_convert(NEW_YORK).date()
        assert (first, last) == days_span(case)


def test_both_ends_of_the_range_are_included(case: Case, feed: BarFeed) -> None:
    symbol = case.symbols[0]
    wide = feed.history([symbol], case.days[1], case.days[1], MIN15)[symbol]
    start, end = wide.index[3], wide.index[10]
    got = feed.history([symbol], start, end, MIN15)[symbol]
    same_bars(got, wide.iloc[3:11])
    inner = feed.history([symbol], start + pd.Timedelta(seconds=1), end - pd.Timedelta(seconds=1), MIN15)[
        symbol
    ]
    same_bars(inner, wide.iloc[4:10])


@pytest.mark.parametrize("timeframe", [MINUTE, MIN15, HOUR, DAY], ids=lambda tf: tf.name)
def test_a_bar_is_the_same_whatever_the_range_and_none_starts_after_end(
    case: Case, feed: BarFeed, timeframe: Timeframe
) -> None:
    """No look-ahead past ``end``: nothing starting after it; and a bar starting inside the range
    is whole (never a part cut at ``end``), so the bars never depend on the range asked."""
    symbol = case.symbols[1]
    wide = feed.history([symbol], *days_span(case), timeframe)[symbol]
    if timeframe.is_daily:
        low, high = case.ny(case.days[0], 12), case.ny(case.days[1], 12)
    else:
        low, high = case.ny(case.days[1], 10, 7), case.ny(case.days[1], 13, 20)  # inside bars
    got = feed.history([symbol], low, high, timeframe)[symbol]
    assert got.index[0] >= low and got.index[-1] <= high
    same_bars(got, wide.loc[low:high])


def test_dates_cover_whole_new_york_days_and_naive_times_are_new_york(case: Case, feed: BarFeed) -> None:
    symbol, day = case.symbols[0], case.days[1]
    by_date = feed.history([symbol], day, day, MINUTE)[symbol]
    by_instant = feed.history(
        [symbol], case.ny(day), case.ny(day) + timedelta(days=1, microseconds=-1), MINUTE
    )[symbol]
    same_bars(by_date, by_instant)
    assert set(by_date.index.tz_convert(NEW_YORK).date) == {day}
    naive = datetime.combine(day, time(10, 0)), datetime.combine(day, time(11, 0))
    aware = case.ny(day, 10), case.ny(day, 11)
    same_bars(feed.history([symbol], *naive, MIN5)[symbol], feed.history([symbol], *aware, MIN5)[symbol])


def test_an_open_end_reaches_the_first_or_last_bar(case: Case, feed: BarFeed) -> None:
    symbol = case.symbols[0]
    before = feed.history([symbol], None, case.days[0], DAY)[symbol]
    assert before.index[-1] == pd.Timestamp(case.ny(case.days[0]))
    after = feed.history([symbol], case.days[-1], None, DAY)[symbol]
    assert after.index[0] == pd.Timestamp(case.ny(case.days[-1]))
    assert after.index[-1] == pd.Timestamp(case.ny(case.last_day))


@pytest.mark.parametrize("timeframe", [MINUTE, DAY], ids=lambda tf: tf.name)
def test_no_bars_is_an_error_naming_the_symbol(case: Case, feed: BarFeed, timeframe: Timeframe) -> None:
    known = case.symbols[0]
    with pytest.raises(NoBarsError, match="ZZZZ"):
        feed.history([known, "ZZZZ"], *days_span(case), timeframe)
    with pytest.raises(NoBarsError, match=known):
        feed.history([known], *case.empty, timeframe)
    with pytest.raises(NoBarsError, match=known):  # start after end: an empty range
        feed.history([known], case.ny(case.days[1], 12), case.ny(case.days[1], 11), timeframe)


def test_symbols_are_keyed_as_given_and_matched_in_any_case(case: Case, feed: BarFeed) -> None:
    symbol = case.symbols[0]
    span = days_span(case)
    upper = feed.history([symbol], *span, DAY)[symbol]
    lower = feed.history([symbol.lower()], *span, DAY)
    assert list(lower) == [symbol.lower()]
    same_bars(lower[symbol.lower()], upper)
    alone = feed.history(symbol, *span, DAY)  # a bare string is one symbol
    assert list(alone) == [symbol]
    assert feed.history([], *span, DAY) == {}


@pytest.mark.parametrize("timeframe", [MIN5, MIN15, HOUR, DAY], ids=lambda tf: tf.name)
def test_coarser_bars_aggregate_the_minutes(case: Case, feed: BarFeed, timeframe: Timeframe) -> None:
    """Every feed's timeframes agree with its own minutes: intraday on the New York grid, daily
    bars from the regular session."""
    symbol = case.symbols[1]
    minutes = feed.history([symbol], *days_span(case), MINUTE)[symbol]
    got = feed.history([symbol], *days_span(case), timeframe)[symbol]
    same_bars(got, resample_bars(minutes, timeframe))


def test_extended_hours_add_intraday_prints_and_leave_daily_bars_alone(case: Case, feed: BarFeed) -> None:
    extended = case.make(True)
    symbol, span = case.symbols[0], days_span(case)
    everything = extended.history([symbol], *span, MINUTE)[symbol]
    assert_bars_frame(everything, MINUTE, extended=True)
    outside = ~regular_session_mask(everything.index)
    assert outside.any()
    same_bars(everything[~outside], feed.history([symbol], *span, MINUTE)[symbol])
    hours = extended.history([symbol], *span, HOUR)[symbol]
    same_bars(hours, resample_bars(everything, HOUR))  # the 09:00 bar now holds 09:00-09:59
    same_bars(extended.history([symbol], *span, DAY)[symbol], feed.history([symbol], *span, DAY)[symbol])


# -- latest ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("extended", [False, True], ids=["session", "extended"])
@pytest.mark.parametrize("timeframe", [MINUTE, MIN15, DAY], ids=lambda tf: tf.name)
def test_latest_is_the_last_bar_history_gives(case: Case, timeframe: Timeframe, extended: bool) -> None:
    feed = case.make(extended)
    symbol = case.symbols[0]
    got = feed.latest([symbol, "ZZZZ"], timeframe)
    assert list(got) == [symbol]  # no data: left out
    last = feed.history([symbol], case.last_day, None, timeframe)[symbol]
    assert len(got[symbol]) == 1
    assert_bars_frame(got[symbol], timeframe, extended=extended)
    same_bars(got[symbol], last.iloc[-1:])


@pytest.mark.parametrize("method", ["history", "latest"])
def test_every_feed_has_the_contract_signature(feed: BarFeed, method: str) -> None:
    """Names, order, defaults, keyword-only markers and annotations as in ``BarFeed``."""
    assert inspect.signature(getattr(type(feed), method)) == inspect.signature(getattr(BarFeed, method))
