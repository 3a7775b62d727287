"""The bar-feed contract.

A *bars frame* is a ``pandas.DataFrame`` with

- index: ``DatetimeIndex`` named ``"ts"``, tz-aware **UTC**, strictly increasing, each value the
  bar's start time (see ``bot.calendar.timeframes``);
- columns ``open, high, low, close, volume`` as float64, all finite, prices > 0, ``low <= open,
  close <= high``, volume > 0.

Feeds clean what they can (see ``bot.data.cleaning``) and raise ``DataError`` naming the file and
row for what they cannot.

Implementations: ``SampleFeed`` (``sample``), ``CsvFeed`` (``csv:DIR``), ``AlpacaFeed``
(``alpaca``). One suite, ``tests/data/test_bar_feed_contract.py``, runs against all three.

| method | must |
|---|---|
| ``history(symbols, start, end, timeframe)`` | return ``{symbol: bars frame}`` with exactly the requested symbols as keys, spelled as given (matching is case-insensitive; a bare ``str`` is one symbol; no symbols: ``{}``) |
| - range | hold every bar whose *start* lies in ``[start, end]``, both ends included, and no other; ``None`` leaves that end open (replay feeds: their first/last bar; a live feed: its history's start / now). Bounds follow ``bound_to_utc``: an aware datetime is that instant, a naive one New York wall time, a ``date`` start its midnight in New York and a ``date`` end the whole New York day |
| - bars | be the same bars whatever range is asked: a bar that starts inside the range is whole, never cut short at ``end`` (so a decision must still wait for a bar's close time: ``Timeframe.close_time``) |
| - timeframe | hold ``timeframe`` bars: intraday starts on the New York clock's ``timeframe`` grid (an hour bar at 09:00 holds 09:30-09:59 when the session alone is kept), daily bars at midnight New York, aggregating the regular session (a feed that builds daily bars itself never puts extended-hours prints in them; Alpaca's own daily bars are taken as sent); a timeframe finer than the data is a ``DataError`` |
| - session | intraday: only bars overlapping the regular session (09:30-16:00 New York, weekdays) unless the feed was built with ``extended_hours`` |
| - errors | raise ``NoBarsError`` (a ``DataError``) naming the symbol when a symbol is unknown or has no bar in the range (an empty range, ``start`` after ``end``, included); no partial answer |
| ``latest(symbols, timeframe)`` | return the most recent *complete* bar per symbol as a one-row bars frame, the bar ``history`` would give as its last: a replay feed's last bar, a live feed's last bar closed by now; symbols without data are left out |
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import date, datetime

import pandas as pd

from bot.calendar.timeframes import NEW_YORK, Timeframe
from bot.errors import DataError

BAR_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")


class NoBarsError(DataError):
    """A feed has no bar for a symbol in a range (the symbol may be unknown to it altogether).

    Its own class so that ``latest`` can leave such a symbol out while a broken file still stops.
    """


class BarFeed(ABC):
    """Where bars come from; the contract table is in the module docstring."""

    #: short name shown in reports, e.g. ``"sample"`` or ``"csv:/data/daily"``
    name: str = "feed"
    #: True when the data is generated: every report it feeds must say so
    synthetic: bool = False

    @abstractmethod
    def history(
        self,
        symbols: Sequence[str],
        start: datetime | date | None,
        end: datetime | date | None,
        timeframe: Timeframe,
    ) -> dict[str, pd.DataFrame]:
        """Bars frames for ``symbols`` with start times in ``[start, end]`` (None = unbounded)."""

    def latest(self, symbols: Sequence[str], timeframe: Timeframe) -> dict[str, pd.DataFrame]:
        """The last bar of each symbol that has one. Replay feeds answer from their history."""
        out = {}
        for symbol in as_symbol_list(symbols):
            try:  # one symbol at a time: an unknown one is left out, it does not sink the others
                frame = self.history([symbol], None, None, timeframe)[symbol]
            except NoBarsError:
                continue
            out[symbol] = frame.iloc[-1:]
        return out


def as_symbol_list(symbols: Sequence[str]) -> list[str]:
    """``symbols`` as a list; a bare string is one symbol ("AAPL" is not A, A, P, L)."""
    return [symbols] if isinstance(symbols, str) else list(symbols)


def bound_to_utc(value: datetime | date | None, *, end: bool = False) -> pd.Timestamp | None:
    """A ``history`` bound as a UTC instant (nanoseconds).

    An aware datetime is that instant; a naive one is New York wall time (like the exchange's
    clock and the CSV files); a ``date`` is midnight New York of that day, and as an ``end`` it
    covers the whole day (up to the last nanosecond before the next midnight).
    """
    if value is None:
        return None
    stamp = pd.Timestamp(value).as_unit("ns")
    whole_day = end and isinstance(value, date) and not isinstance(value, datetime)
    if whole_day:
        stamp += pd.Timedelta(days=1)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(NEW_YORK)
    stamp = stamp.tz_convert("UTC")
    return stamp - pd.Timedelta(1, "ns") if whole_day else stamp


def describe_bound(value: datetime | date | None, default: str) -> str:
    """A bound as the caller gave it, for error messages (a midnight shows as its date)."""
    if value is None:
        return default
    stamp = pd.Timestamp(value)
    if stamp == stamp.normalize():
        return stamp.date().isoformat()
    return stamp.isoformat()


def empty_bars() -> pd.DataFrame:
    """A bars frame with no rows (the right dtypes and index)."""
    index = pd.DatetimeIndex([], tz="UTC", name="ts")
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in BAR_COLUMNS}, index=index)
