"""A replay's per-step values made at once with NumPy/pandas, not one Python call a step: the
decision time of every step and the journal's spelling of a run of times. Each equals, value for
value, what the per-step code gave (``Timeframe.close_time``, ``bot.journal.store.iso``), which
``tests/engine/test_replay_steps.py`` checks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class StepTimes(Sequence[datetime]):
    """Every step's time (ns since epoch, UTC) as a UTC ``datetime``, each made when first read
    and then kept: a replay reads the times of its full steps, and a quiet step's time only where
    a check needs it, so converting all of them up front (pandas' ``to_pydatetime``, twice a
    replay) cost more than the reads. The same values as ``to_pydatetime`` (a test checks)."""

    def __init__(self, ns: np.ndarray) -> None:
        self._us = (np.asarray(ns, dtype="int64") // 1000).tolist()  # datetime's resolution
        self._made: dict[int, datetime] = {}
        #: the step of every time made so far (``StepDays`` finds a time's day through it)
        self.steps: dict[datetime, int] = {}

    def __len__(self) -> int:
        return len(self._us)

    def __getitem__(self, k: int) -> datetime:  # type: ignore[override] # no slices: not read so
        made = self._made.get(k)
        if made is None:
            if k < 0:
                k += len(self._us)
            made = _EPOCH + timedelta(microseconds=self._us[k])  # IndexError past the end
            self._made[k] = made
            self.steps[made] = k
        return made

    def __iter__(self) -> Iterator[datetime]:
        return (self[k] for k in range(len(self._us)))


class StepDays(Mapping[datetime, date]):
    """The New York date of each step's time made by ``times`` (``EquityTracker.know_days``),
    without a dictionary of every step's ``datetime``; a time no step made is not in it."""

    def __init__(self, times: StepTimes, days: Sequence[date]) -> None:
        self._steps = times.steps
        self._days = days

    def __getitem__(self, ts: datetime) -> date:
        return self._days[self._steps[ts]]

    def get(self, ts: datetime, default: date | None = None) -> date | None:  # type: ignore[override]
        k = self._steps.get(ts)
        return default if k is None else self._days[k]

    def __iter__(self) -> Iterator[datetime]:
        return iter(self._steps)

    def __len__(self) -> int:
        return len(self._steps)


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
