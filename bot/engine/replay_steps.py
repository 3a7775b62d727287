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
from bot.journal.packed_stamps import PackedStamps
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
    replay) cost more than the reads. The same values as ``to_pydatetime`` (a test checks).

    ``indexed``: keep each time's step in ``steps`` (``StepDays`` finds a time's day through it);
    a time-zone-aware ``datetime`` is slow to hash, so only the decision times are indexed."""

    def __init__(self, ns: np.ndarray, *, indexed: bool = False) -> None:
        seconds, micro = np.divmod(np.asarray(ns, dtype="int64") // 1000, 1_000_000)  # datetime's resolution
        self._seconds, self._micro = seconds.tolist(), micro.tolist()
        self._made: dict[int, datetime] = {}
        #: the step of every time made so far (``indexed`` only)
        self.steps: dict[datetime, int] = {}
        self._indexed = indexed

    def __len__(self) -> int:
        return len(self._seconds)

    def __getitem__(self, k: int) -> datetime:  # type: ignore[override] # no slices: not read so
        made = self._made.get(k)
        if made is None:
            if k < 0:
                k += len(self._seconds)
            # seconds and microseconds apart: a third faster than timedelta(microseconds=...)
            made = _EPOCH + timedelta(0, self._seconds[k], self._micro[k])  # IndexError past the end
            self._made[k] = made
            if self._indexed:
                self.steps[made] = k
        return made

    def __iter__(self) -> Iterator[datetime]:
        return (self[k] for k in range(len(self._seconds)))


class StepDays(Mapping[datetime, date]):
    """The New York date of each step's time made by ``times`` (``EquityTracker.know_days``),
    without a dictionary of every step's ``datetime``; a time no step made is not in it."""

    def __init__(self, times: StepTimes, days: Sequence[date]) -> None:
        if not times._indexed:
            raise ValueError("StepDays needs StepTimes(..., indexed=True)")
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


def iso_stamps(index: pd.DatetimeIndex | list[datetime]) -> Sequence[str]:
    """``iso(t)`` of every time. Whole seconds of years 1000 to 9999 (bar and decision times) are
    spelled at once by array arithmetic, into one string (``PackedStamps``); anything else time by
    time."""
    index = pd.DatetimeIndex(index)
    ns = index.as_unit("ns").asi8
    if len(ns) and index.tz is not None and not (ns % 1_000_000_000).any():
        seconds = ns // 1_000_000_000
        if _FIRST_SECOND <= seconds.min() and seconds.max() < _END_SECOND:
            return PackedStamps(_utc_text(seconds).tobytes().decode("ascii"), len(_UTC_TEMPLATE))
    return [iso(t) for t in index]


_UTC_TEMPLATE = np.frombuffer(b"0000-00-00T00:00:00+00:00", np.uint8)  # ``iso``'s UTC whole seconds
_FIRST_SECOND = -30_610_224_000  # 1000-01-01T00:00:00Z
_END_SECOND = 253_402_300_800  # 10000-01-01T00:00:00Z


def _utc_text(seconds: np.ndarray) -> np.ndarray:
    """Each second since the epoch as ``YYYY-MM-DDTHH:MM:SS+00:00`` (rows of ASCII codes): the
    civil date from the day number by H. Hinnant's ``civil_from_days``, then digit by digit."""
    days, of_day = np.divmod(seconds, 86_400)
    z = days + 719_468
    era = z // 146_097
    day_of_era = z - era * 146_097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153  # March = 0
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = np.where(shifted_month < 10, shifted_month + 3, shifted_month - 9)
    year = year_of_era + era * 400 + (month <= 2)
    hour, of_hour = np.divmod(of_day, 3600)
    minute, second = np.divmod(of_hour, 60)
    text = np.tile(_UTC_TEMPLATE, (len(seconds), 1))
    for column, value, width in (
        (0, year, 4),
        (5, month, 2),
        (8, day, 2),
        (11, hour, 2),
        (14, minute, 2),
        (17, second, 2),
    ):
        for place in range(width - 1, -1, -1):
            value, digit = np.divmod(value, 10)
            text[:, column + place] = 48 + digit
    return text


def new_york_dates(times: list[datetime] | pd.DatetimeIndex) -> list[date]:
    """The New York calendar date of every (UTC) time, ``t.astimezone(NEW_YORK).date()`` at once."""
    if len(times) == 0:
        return []
    wall = pd.DatetimeIndex(times).tz_convert(NEW_YORK).tz_localize(None)  # New York wall times
    return wall.to_numpy().astype("datetime64[D]").tolist()  # their days, as dates (4x ``.date``)
