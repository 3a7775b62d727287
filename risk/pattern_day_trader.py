"""The pattern-day-trader guard for accounts under $25,000 (FINRA rule 4210; Alpaca enforces it
on paper accounts too): at most 3 day trades in any 5 business days.

A *day trade* here is the first exit after an entry in the same symbol the same New York day
(buy, buy, sell, sell is one; buy, sell, buy, sell is two, as FINRA pairs them). The guard never
blocks an exit (a stop must always work); it blocks new *entries* once the day trades already
made in the last 5 business days plus the positions opened today (each could become one) reach 3,
so even closing everything opened today cannot make a fourth. Counted from the orders that pass
the gate (conservative: an order that never fills still counts), in memory per run. At Alpaca the
account's own ``daytrade_count`` is read at every step (``RiskContext.broker_day_trades``) and the
larger of the two counts binds, so a restart or a trade made by hand does not reset the guard."""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import date, timedelta

import numpy as np

from bot.calendar.timeframes import NEW_YORK
from risk.base import OrderIntent, RiskContext, RiskRule, Verdict, reduces_exposure

PDT_EQUITY = 25_000.0
MAX_DAY_TRADES = 3


class PatternDayTrader(RiskRule):
    name = "pattern_day_trader"

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._opened: dict[date, set[str]] = defaultdict(set)  # New York day -> symbols entered
        # New York days of the day trades still inside the 5-business-day window, oldest first:
        # pruned as time moves on, so a check costs the same after 20,000 day trades as after 2
        self._day_trades: deque[date] = deque()
        self._pruned_on: date | None = None  # the day ``_prune`` last ran for

    @property
    def active(self) -> bool:
        return self.enabled

    def check(self, intent: OrderIntent, context: RiskContext) -> Verdict:
        if not self.enabled or context.equity >= PDT_EQUITY or reduces_exposure(intent, context):
            return Verdict.allow()
        today = intent.ts.astimezone(NEW_YORK).date()
        self._prune(today)
        # the broker's count covers trades made before a restart or by hand; ours, the ones it has not counted yet
        recent = max(len(self._day_trades), context.broker_day_trades or 0)
        open_today = {s for s in self._opened.get(today, set()) if context.position_qty(s) != 0}
        at_risk = recent + len(open_today | {intent.symbol})
        if at_risk <= MAX_DAY_TRADES:
            return Verdict.allow()
        return Verdict.deny(
            self.name,
            f"equity ${context.equity:,.0f} < ${PDT_EQUITY:,.0f}: {recent} day trade(s) in "
            f"5 business days + {len(open_today)} position(s) opened today would allow "
            f"a 4th day trade",
        )

    def _prune(self, today: date) -> None:
        if today == self._pruned_on:
            return  # only today's trades were added since: none of them can be out of the window
        while self._day_trades and _business_days_between(self._day_trades[0], today) >= 5:
            self._day_trades.popleft()
        self._pruned_on = today

    def on_pass(self, intent: OrderIntent, context: RiskContext) -> None:
        today = intent.ts.astimezone(NEW_YORK).date()
        self._prune(today)
        for day in [d for d in self._opened if d < today]:
            del self._opened[day]
        if reduces_exposure(intent, context):
            if intent.symbol in self._opened.get(today, set()):
                self._day_trades.append(today)
                # buy, buy, sell, sell is one day trade; buy, sell, buy, sell two (FINRA's pairing)
                self._opened[today].discard(intent.symbol)
        else:
            self._opened[today].add(intent.symbol)


def _business_days_between(earlier: date, later: date) -> int:
    return int(np.busday_count(earlier, later + timedelta(days=1))) - 1
