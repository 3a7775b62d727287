"""Session filtering and resampling of bars frames (see ``bot.data.base`` for the frame shape)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.calendar.timeframes import NEW_YORK, Timeframe
from bot.data.base import BAR_COLUMNS

_AGGREGATION = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
_SESSION_OPEN_MINUTE = 9 * 60 + 30
_SESSION_CLOSE_MINUTE = 16 * 60


def regular_session_mask(index: pd.DatetimeIndex) -> np.ndarray:
    """True for bars that start inside the regular session (09:30-16:00 New York, Mon-Fri).

    Holidays need no calendar here: exchanges print no regular-session bars on them.
    """
    local = index.tz_convert(NEW_YORK)
    minute_of_day = local.hour * 60 + local.minute
    weekday = local.day_of_week < 5
    return np.asarray(
        weekday & (minute_of_day >= _SESSION_OPEN_MINUTE) & (minute_of_day < _SESSION_CLOSE_MINUTE)
    )


_DAY_NS = 86_400 * 1_000_000_000


def native_minutes(index: pd.DatetimeIndex) -> int:
    """The bar length of a frame in minutes, 0 for daily bars (every bar at midnight New York).

    Intraday data is often sparse (missing minutes), so the smallest gap is the bar length.
    """
    if len(index) == 0:
        return 0
    # New York wall-clock nanoseconds: every bar at midnight is a multiple of a day
    wall = index.tz_convert(NEW_YORK).tz_localize(None).as_unit("ns").asi8
    if not (wall % _DAY_NS).any():
        return 0
    if len(index) < 2:
        return 1
    gaps = np.diff(index.as_unit("ns").asi8) // 60_000_000_000
    return int(max(1, gaps[gaps > 0].min()))


def resample_bars(frame: pd.DataFrame, timeframe: Timeframe) -> pd.DataFrame:
    """Aggregate a finer bars frame to ``timeframe``; buckets with no bar are left out.

    Intraday buckets align to the New York clock (an hourly bar starting 09:00 holds 09:30-09:59,
    as Alpaca's do). Daily bars are labelled midnight New York of their date. Raises ``ValueError``
    when asked for bars finer than the data.
    """
    source_minutes = native_minutes(frame.index)
    if timeframe.is_daily and source_minutes == 0:
        return frame
    if source_minutes == 0 or (not timeframe.is_daily and timeframe.minutes < source_minutes):
        have = "1Day" if source_minutes == 0 else f"{source_minutes}Min"
        raise ValueError(f"the data holds {have} bars; cannot make finer {timeframe.name} bars from it")
    if not timeframe.is_daily and timeframe.minutes == source_minutes:
        return frame
    local = frame.tz_convert(NEW_YORK)
    freq = "1D" if timeframe.is_daily else f"{timeframe.minutes}min"
    out = local.resample(freq, label="left", closed="left").agg(_AGGREGATION)
    out = out.dropna(subset=["open"])
    out = out[out["volume"] > 0]
    out.index = out.index.tz_convert("UTC")
    out.index.name = "ts"
    return out[list(BAR_COLUMNS)].astype("float64")
