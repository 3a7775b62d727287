"""Day-start and peak equity from the equity seen at each decision step.

The day's start is the last equity seen on an earlier New York date (the previous trading day's
close); on a run's first day it is the first equity seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta

from bot.calendar.timeframes import NEW_YORK


class EquityTracker:
    def __init__(self) -> None:
        self.day: date | None = None
        self.day_start: float | None = None
        self.peak: float | None = None
        self._last: float | None = None
        #: [start, end) of the last New York day converted, as instants, and that day: a time inside
        #: it is the same day without a time-zone conversion (one per new day, not one per step)
        self._bounds: tuple[datetime, datetime, date] | None = None
        #: New York dates of times known in advance (a replay's decision times, ``know_days``)
        self._known: Mapping[datetime, date] = {}

    def know_days(self, days: Mapping[datetime, date]) -> None:
        """The New York date of each of these times, computed at once by a replay that knows its
        decision times up front: a daily replay starts a new day every step, where the per-step
        conversion would cost three time-zone conversions each."""
        self._known = days

    def observe(self, ts: datetime, equity: float) -> None:
        day = self._known.get(ts)
        self.observe_on(self._day_of(ts) if day is None else day, equity)

    def observe_on(self, day: date, equity: float) -> None:
        """``observe`` at a time whose New York date the caller knows (a replay's quiet steps)."""
        if day != self.day:
            self.day_start = self._last if self._last is not None else equity
            self.day = day
        self._last = equity
        peak = self.peak
        if peak is None or equity > peak:  # max(peak, equity), without the call
            self.peak = equity

    def observe_stretch(self, days: Sequence[date], equities: Sequence[float]) -> None:
        """``observe_on(days[i], equities[i])`` for every i in turn, at once (a replay's quiet
        stretch, when nothing reads the day start or the peak between its steps): the day start
        only depends on the stretch's last change of day, the peak on its largest equity."""
        if not equities:
            return
        top = max(equities)
        if top != top:  # a NaN: max() and the step-by-step rule may differ; take the rule
            for day, equity in zip(days, equities):
                self.observe_on(day, equity)
            return
        last_day = days[-1]
        change = len(days) - 1  # the first step of the last day's part of the stretch
        while change > 0 and days[change - 1] == last_day:
            change -= 1
        if change > 0:
            self.day_start = equities[change - 1]
        elif last_day != self.day:
            self.day_start = self._last if self._last is not None else equities[0]
        self.day = last_day
        self._last = equities[-1]
        if self.peak is None or top > self.peak:
            self.peak = top

    def _day_of(self, ts: datetime) -> date:
        bounds = self._bounds
        if bounds is not None and bounds[0] <= ts < bounds[1]:
            return bounds[2]
        day = ts.astimezone(NEW_YORK).date()
        start = datetime.combine(day, time(0), NEW_YORK).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), NEW_YORK).astimezone(UTC)
        self._bounds = (start, end, day)
        return day
