"""Day-start and peak equity from the equity seen at each decision step.

The day's start is the last equity seen on an earlier New York date (the previous trading day's
close); on a run's first day it is the first equity seen.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from bot.calendar.timeframes import NEW_YORK


class EquityTracker:
    def __init__(self) -> None:
        self.day: date | None = None
        self.day_start: float | None = None
        self.peak: float | None = None
        self._last: float | None = None
        #: [start, end) of the current New York day, as instants: a time inside it is the same day
        #: without a time-zone conversion (one per new day, not one per step)
        self._bounds: tuple[datetime, datetime] | None = None

    def observe(self, ts: datetime, equity: float) -> None:
        bounds = self._bounds
        if bounds is None or not bounds[0] <= ts < bounds[1]:
            day = ts.astimezone(NEW_YORK).date()
            start = datetime.combine(day, time(0), NEW_YORK).astimezone(UTC)
            end = datetime.combine(day + timedelta(days=1), time(0), NEW_YORK).astimezone(UTC)
            self._bounds = (start, end)
            if day != self.day:
                self.day_start = self._last if self._last is not None else equity
                self.day = day
        self._last = equity
        self.peak = equity if self.peak is None else max(self.peak, equity)
