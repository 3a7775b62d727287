"""Max drawdown: equity down more than ``max_pct`` from its peak halts trading (the kill switch).
Orders that reduce exposure still pass, so the bot can get flat after the halt."""

from __future__ import annotations

from risk.base import OrderIntent, RiskContext, RiskRule, Verdict, reduces_exposure


class MaxDrawdown(RiskRule):
    name = "max_drawdown"
    reads_only_equity = True  # equity against the day start / the peak, nothing else

    def __init__(self, max_pct: float) -> None:
        self.max_pct = max_pct  # 0 = off

    @property
    def active(self) -> bool:
        return self.max_pct > 0

    def check_account(self, context: RiskContext) -> Verdict:
        peak = context.peak_equity
        if self.max_pct <= 0 or not peak or peak <= 0:
            return Verdict.allow()
        drawdown = (peak - context.equity) / peak
        if drawdown < self.max_pct:
            return Verdict.allow()
        return Verdict.halt(
            self.name,
            f"equity {context.equity:,.2f} is {drawdown:.2%} below its peak "
            f"{peak:,.2f}: drawdown limit {self.max_pct:.2%}",
        )

    def check(self, intent: OrderIntent, context: RiskContext) -> Verdict:
        if reduces_exposure(intent, context):
            return Verdict.allow()
        return self.check_account(context)
