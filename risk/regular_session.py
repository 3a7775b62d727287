"""No new entries outside the regular session (09:30-16:00 New York, weekdays) unless extended
hours are enabled (``data.extended_hours``): pre- and post-market prints are thin and wide, and a
market order decided there would fill at a price nobody saw. Exits always pass.

A decision is stamped with its bar's close, so the session's decisions fall in (09:30, 16:00]:
the first 1Min bar decides at 09:31, a daily bar at 16:00. Holidays and early closes need no
calendar here: the data has no regular bars then, so nothing is decided."""

from __future__ import annotations

from datetime import time

from bot.calendar.timeframes import NEW_YORK
from risk.base import OrderIntent, RiskContext, RiskRule, Verdict, reduces_exposure

OPEN, CLOSE = time(9, 30), time(16, 0)


class RegularSession(RiskRule):
    name = "regular_session"

    def __init__(self, extended_hours: bool) -> None:
        self.extended_hours = extended_hours

    @property
    def active(self) -> bool:
        return not self.extended_hours

    def check(self, intent: OrderIntent, context: RiskContext) -> Verdict:
        if self.extended_hours or reduces_exposure(intent, context):
            return Verdict.allow()
        local = intent.ts.astimezone(NEW_YORK)
        if local.weekday() < 5 and OPEN < local.time() <= CLOSE:
            return Verdict.allow()
        return Verdict.deny(
            self.name,
            f"{local:%a %H:%M} New York is outside the regular session "
            "(data.extended_hours is off): no new entries",
        )
