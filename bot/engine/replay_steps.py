"""A replay's per-step values made at once with NumPy/pandas, not one Python call a step: the
decision time of every step and the journal's spelling of a run of times. Each equals, value for
value, what the per-step code gave (``Timeframe.close_time``, ``bot.journal.store.iso``), which
``tests/engine/test_replay_steps.py`` checks."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from bot.calendar.timeframes import NEW_YORK, Timeframe
from bot.journal.store import iso


def decision_index(starts_ns: np.ndarray, timeframe: Timeframe) -> pd.DatetimeIndex:
    """``timeframe.close_time(start)`` of every bar start (ns since epoch, UTC), as a UTC index."""
    starts = pd.DatetimeIndex(starts_ns.astype("datetime64[ns]")).tz_localize("UTC")
    if timeframe.is_daily:
        # 16:00 New York wall time of each start's New York date (never a missing or repeated hour)
        wall = starts.tz_convert(NEW_YORK).tz_localize(None).normalize() + pd.Timedelta(hours=16)
        return wall.tz_localize(NEW_YORK).tz_convert("UTC")
    return starts + pd.Timedelta(minutes=timeframe.minutes)


def decision_times(starts_ns: np.ndarray, timeframe: Timeframe) -> list[datetime]:
    """``decision_index`` as UTC datetimes (what the replay loop reads, one a step)."""
    return list(decision_index(starts_ns, timeframe).to_pydatetime())


def iso_stamps(index: pd.DatetimeIndex | list[datetime]) -> list[str]:
    """``iso(t)`` of every time, at once when they are whole seconds (bar and decision times)."""
    index = pd.DatetimeIndex(index)
    ns = index.as_unit("ns").asi8
    if len(ns) and index.tz is not None and not (ns % 1_000_000_000).any():
        text = np.datetime_as_string(ns.view("datetime64[ns]"), unit="s").tolist()
        return [t + "+00:00" for t in text]
    return [iso(t) for t in index]


def new_york_dates(times: list[datetime] | pd.DatetimeIndex) -> list[date]:
    """The New York calendar date of every (UTC) time, ``t.astimezone(NEW_YORK).date()`` at once."""
    if len(times) == 0:
        return []
    return list(pd.DatetimeIndex(times).tz_convert(NEW_YORK).date)
