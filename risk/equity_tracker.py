"""Day-start and peak equity from the equity seen at each decision step.

The day's start is the last equity seen on an earlier New York date (the previous trading day's
close); on a run's first day it is the first equity seen.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.calendar.timeframes import NEW_YORK


class EquityTracker:
    def __init__(self) -> None:
        self.day: date | None = None
        self.day_start: float | None = None
        self.peak: float | None = None
        self._last: float | None = None

    def observe(self, ts: datetime, equity: float) -> None:
        day = ts.astimezone(NEW_YORK).date()
        if day != self.day:
            self.day_start = self._last if self._last is not None else equity
            self.day = day
        self._last = equity
        self.peak = equity if self.peak is None else max(self.peak, equity)
