"""No new entries on stale data: a symbol whose latest bar is more than ``max_bars`` bars of the
market's timeline old (halted, delisted, a broken feed) may only be reduced. Its last close is
no longer a price anyone can trade at."""

from __future__ import annotations

from risk.base import OrderIntent, RiskContext, RiskRule, Verdict, reduces_exposure


class StaleData(RiskRule):
    name = "stale_data"

    def __init__(self, max_bars: int) -> None:
        self.max_bars = max_bars  # 0 = off

    @property
    def active(self) -> bool:
        return self.max_bars > 0

    def check(self, intent: OrderIntent, context: RiskContext) -> Verdict:
        behind = context.bars_behind.get(intent.symbol, 0)
        if self.max_bars <= 0 or behind <= self.max_bars or reduces_exposure(intent, context):
            return Verdict.allow()
        return Verdict.deny(
            self.name, f"{intent.symbol} latest bar is {behind} bars old > limit {self.max_bars}"
        )
