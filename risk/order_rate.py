"""Max orders per minute and per New York trading day, counted in memory per run (a restarted
daemon seeds the count from the journal's passed decisions with ``seed``).

The count moves only when an order passes the whole gate (``on_pass``), so a denied order does
not use up the budget. Times are the decision times, so a replay counts in simulated time.
"""

from __future__ import annotations

from collections import deque
from datetime import date, datetime, timedelta

from bot.calendar.timeframes import NEW_YORK
from risk.base import OrderIntent, RiskContext, RiskRule, Verdict


class OrderRate(RiskRule):
    name = "order_rate"

    def __init__(self, per_minute: int = 0, per_day: int = 0) -> None:
        self.per_minute = per_minute  # 0 = off
        self.per_day = per_day  # 0 = off
        self._recent: deque[datetime] = deque()
        self._day: date | None = None
        self._today = 0

    @property
    def active(self) -> bool:
        return self.per_minute > 0 or self.per_day > 0

    def counts(self, ts: datetime) -> tuple[int, int]:
        minute = sum(1 for t in self._recent if ts - t < timedelta(minutes=1))
        today = self._today if self._day == ts.astimezone(NEW_YORK).date() else 0
        return minute, today

    def check(self, intent: OrderIntent, context: RiskContext) -> Verdict:
        minute, today = self.counts(intent.ts)
        if self.per_minute > 0 and minute >= self.per_minute:
            return Verdict.deny(self.name, f"{minute} orders in the last minute >= limit {self.per_minute}")
        if self.per_day > 0 and today >= self.per_day:
            return Verdict.deny(self.name, f"{today} orders today >= limit {self.per_day}")
        return Verdict.allow()

    def seed(self, times: list[datetime]) -> None:
        """Count orders that passed before a restart (their decision times, oldest first)."""
        for ts in times:
            self._count(ts)

    def on_pass(self, intent: OrderIntent, context: RiskContext) -> None:
        self._count(intent.ts)

    def _count(self, ts: datetime) -> None:
        day = ts.astimezone(NEW_YORK).date()
        if day != self._day:
            self._day, self._today = day, 0
        self._today += 1
        self._recent.append(ts)
        while self._recent and ts - self._recent[0] >= timedelta(minutes=1):
            self._recent.popleft()
