"""Daily loss limit: equity down more than ``max_pct`` from the previous New York trading day's
close halts trading (the kill switch). Orders that reduce exposure still pass, so the bot can get
flat after the halt."""

from __future__ import annotations

from risk.base import OrderIntent, RiskContext, RiskRule, Verdict, reduces_exposure


class DailyLossLimit(RiskRule):
    name = "daily_loss"
    reads_only_equity = True  # equity against the day start / the peak, nothing else

    def __init__(self, max_pct: float) -> None:
        self.max_pct = max_pct  # 0 = off

    @property
    def active(self) -> bool:
        return self.max_pct > 0

    def check_account(self, context: RiskContext) -> Verdict:
        start = context.day_start_equity
        if self.max_pct <= 0 or not start or start <= 0:
            return Verdict.allow()
        loss = (start - context.equity) / start
        if loss < self.max_pct:
            return Verdict.allow()
        return Verdict.halt(
            self.name,
            f"equity {context.equity:,.2f} is {loss:.2%} below the day's start "
            f"{start:,.2f}: loss limit {self.max_pct:.2%}",
        )

    def check(self, intent: OrderIntent, context: RiskContext) -> Verdict:
        if reduces_exposure(intent, context):
            return Verdict.allow()
        return self.check_account(context)
