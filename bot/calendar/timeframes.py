"""Bar timeframes and the timestamp convention.

A bar's timestamp is its *start* time in UTC (Alpaca's convention). Daily bars start at midnight
New York time of their trading date. A bar is complete, and may be used by a decision, only at its
close time: start + length for intraday bars, the session close for daily bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True)
class Timeframe:
    name: str  # Alpaca spelling: "1Day", "1Hour", "15Min", "5Min", "1Min"
    minutes: int  # length of an intraday bar; 0 for daily

    @property
    def is_daily(self) -> bool:
        return self.minutes == 0

    @property
    def pandas_freq(self) -> str:
        return "1D" if self.is_daily else f"{self.minutes}min"

    def close_time(self, start: datetime) -> datetime:
        """When a bar that started at ``start`` (tz-aware) is complete.

        Daily bars close at 16:00 New York (early closes are not modelled here: a decision at
        16:00 on a half day is still after that day's close, so nothing leaks).
        """
        if self.is_daily:
            local = start.astimezone(NEW_YORK)
            return local.replace(hour=16, minute=0, second=0, microsecond=0).astimezone(start.tzinfo)
        return start + timedelta(minutes=self.minutes)


TIMEFRAMES: dict[str, Timeframe] = {
    tf.name: tf
    for tf in (
        Timeframe("1Day", 0),
        Timeframe("1Hour", 60),
        Timeframe("15Min", 15),
        Timeframe("5Min", 5),
        Timeframe("1Min", 1),
    )
}

#: bars per year of regular-session trading (252 days of 6.5 h), to annualise per-bar figures
PERIODS_PER_YEAR = {"1Day": 252, "1Hour": 252 * 7, "15Min": 252 * 26, "5Min": 252 * 78, "1Min": 252 * 390}


def parse_timeframe(name: str) -> Timeframe:
    """Look a timeframe up by its Alpaca name; raises ``ValueError`` listing the valid names."""
    try:
        return TIMEFRAMES[name]
    except KeyError:
        raise ValueError(f"unknown timeframe {name!r}; expected one of {', '.join(TIMEFRAMES)}") from None
