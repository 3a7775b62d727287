"""While the kill switch is on, only orders that reduce exposure may pass.

A halted bot must still be able to get out: a sell that shrinks a long (or a buy that shrinks a
short), without crossing through zero, passes; everything else is denied.
"""

from __future__ import annotations

from risk.base import OrderIntent, RiskContext, RiskRule, Verdict, reduces_exposure
from risk.killswitch import KillSwitch


class HaltedRule(RiskRule):
    name = "halted"

    def __init__(self, switch: KillSwitch) -> None:
        self.switch = switch

    def check(self, intent: OrderIntent, context: RiskContext) -> Verdict:
        state = self.switch.state()
        if not state.halted or reduces_exposure(intent, context):
            return Verdict.allow()
        return Verdict.deny(
            self.name,
            f"trading HALTED since {state.at} by {state.by}: {state.reason}; "
            f"{intent.symbol} {intent.side} {intent.qty} sh would not reduce exposure",
        )
