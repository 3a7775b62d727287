"""The replay's per-step values made at once equal the per-step code's, value for value."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from bot.calendar.timeframes import TIMEFRAMES
from bot.engine.replay_steps import decision_times, iso_stamps
from bot.journal.store import iso

# daily starts are midnight New York (both sides of both DST switches); intraday every 7 minutes
DAILY = pd.date_range("2021-03-10", "2021-11-12", freq="D", tz="America/New_York").tz_convert("UTC")
INTRADAY = pd.date_range("2021-03-13 20:00", periods=3000, freq="7min", tz="UTC")


@pytest.mark.parametrize("name", list(TIMEFRAMES))
def test_decision_times_are_close_time_of_each_start(name):
    timeframe = TIMEFRAMES[name]
    starts = DAILY if timeframe.is_daily else INTRADAY
    got = decision_times(starts.as_unit("ns").asi8, timeframe)
    expected = [timeframe.close_time(t.to_pydatetime()) for t in starts]
    assert got == expected
    assert all(t.utcoffset().total_seconds() == 0 for t in got)


def test_iso_stamps_spell_times_as_the_journal_does():
    for times in (DAILY, INTRADAY, INTRADAY + pd.Timedelta(microseconds=250)):
        assert iso_stamps(times) == [iso(t.to_pydatetime()) for t in times]
    listed = [datetime(2024, 1, 2, 21, 0, tzinfo=UTC), datetime(2024, 1, 3, 21, 0, 30, tzinfo=UTC)]
    assert iso_stamps(listed) == [iso(t) for t in listed]
    assert iso_stamps(np.array([], "datetime64[ns]")) == []


def test_whole_seconds_are_spelled_at_once_as_iso_spells_each():
    """The arithmetic spelling (``PackedStamps``) against ``iso`` on 50,000 random whole seconds
    across pandas' whole range (leap days, century years, before 1970), in two time zones."""
    seconds = np.random.default_rng(5).integers(-9_000_000_000, 9_200_000_000, 50_000)
    times = pd.DatetimeIndex((seconds * 1_000_000_000).view("datetime64[ns]")).tz_localize("UTC")
    for zone in ("UTC", "America/New_York"):
        local = times.tz_convert(zone)
        got = iso_stamps(local)
        assert type(got).__name__ == "PackedStamps"
        assert list(got) == [iso(t) for t in local]
    edges = pd.DatetimeIndex(["2000-02-29 23:59:59", "1900-03-01", "2100-02-28 12:00", "1969-12-31 23:59:59"])
    assert list(iso_stamps(edges.tz_localize("UTC"))) == [iso(t) for t in edges.tz_localize("UTC")]


def test_step_times_are_pandas_datetimes_made_when_read():
    from bot.engine.replay_steps import StepDays, StepTimes

    before_1970 = pd.date_range("1969-12-31 23:58", periods=500, freq="1s", tz="UTC") + pd.Timedelta("1003us")
    for index in (DAILY, INTRADAY, INTRADAY + pd.Timedelta(microseconds=250), before_1970):
        times = StepTimes(index.as_unit("ns").asi8)
        expected = list(index.to_pydatetime())
        assert len(times) == len(expected) and times.steps == {}  # nothing made before it is read
        assert times[-1] == expected[-1] and times[5] == expected[5] and times[5] is times[5]
        assert iso(times[7]) == iso(expected[7]) and times[7].utcoffset().total_seconds() == 0
        assert list(times) == expected
        with pytest.raises(IndexError):
            times[len(expected)]
    with pytest.raises(ValueError):
        StepDays(StepTimes(DAILY.as_unit("ns").asi8), [])  # not indexed: no time could be found
    times = StepTimes(DAILY.as_unit("ns").asi8, indexed=True)
    days = StepDays(times, list(DAILY.tz_convert("America/New_York").date))
    first = times[0]
    assert days.get(first) == DAILY[0].tz_convert("America/New_York").date()
    assert days.get(first + pd.Timedelta(hours=1)) is None  # not a step's time
    assert dict(days) == {first: days[first]}  # only the times made so far


def test_new_york_dates_are_each_times_own_date_there():
    """Against ``DatetimeIndex.date`` after converting to New York, on 50,000 random instants
    (1875 to 2255, with nanoseconds), and against ``astimezone`` for a list of datetimes."""
    from zoneinfo import ZoneInfo

    from bot.engine.replay_steps import new_york_dates

    rng = np.random.default_rng(21)
    ns = rng.integers(-3_000_000_000, 9_000_000_000, 50_000) * 1_000_000_000 + rng.integers(0, 10**9, 50_000)
    index = pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC")
    assert new_york_dates(index) == list(index.tz_convert("America/New_York").date)
    listed = list(index[:200].to_pydatetime())
    assert new_york_dates(listed) == [t.astimezone(ZoneInfo("America/New_York")).date() for t in listed]


def test_the_market_timeline_is_the_sorted_union_of_the_bar_times():
    from bot.engine.market import MarketView

    def frame(times):
        index = pd.DatetimeIndex(times, tz="UTC")
        return pd.DataFrame(
            {c: [1.0] * len(index) for c in ("open", "high", "low", "close", "volume")}, index=index
        )

    a = ["2024-01-02 14:30", "2024-01-02 14:31", "2024-01-02 14:32"]
    b = ["2024-01-02 14:29", "2024-01-02 14:31", "2024-01-02 14:33"]
    for frames in ({"A": frame(a)}, {"A": frame(a), "B": frame(a)}, {"A": frame(a), "B": frame(b)}):
        expected = np.unique(np.concatenate([f.index.as_unit("ns").asi8 for f in frames.values()]))
        assert (MarketView(frames).timeline == expected).all()
