"""Min and max notional per order (qty x reference price).

Too small: denied, unless it reduces exposure (an exit must never be stuck on a minimum).
Too large: cut to the largest whole-share quantity under the maximum.
"""

from __future__ import annotations

import math

from risk.base import OrderIntent, RiskContext, RiskRule, Verdict, reduces_exposure


class OrderNotional(RiskRule):
    name = "order_notional"

    def __init__(self, min_notional: float = 0.0, max_notional: float = 0.0) -> None:
        self.min_notional = min_notional  # 0 = off
        self.max_notional = max_notional  # 0 = off

    @property
    def active(self) -> bool:
        return self.min_notional > 0 or self.max_notional > 0

    def check(self, intent: OrderIntent, context: RiskContext) -> Verdict:
        notional = intent.qty * intent.price
        if self.min_notional > 0 and notional < self.min_notional and not reduces_exposure(intent, context):
            return Verdict.deny(
                self.name,
                f"{intent.symbol} order {intent.qty} sh x {intent.price:.2f} = "
                f"{notional:,.2f} < min {self.min_notional:,.2f}",
            )
        if self.max_notional > 0 and notional > self.max_notional:
            qty = math.floor(self.max_notional / intent.price)
            reason = (
                f"{intent.symbol} order {intent.qty} sh x {intent.price:.2f} = {notional:,.2f} > "
                f"max {self.max_notional:,.2f}"
            )
            if qty <= 0:
                return Verdict.deny(self.name, reason)
            return Verdict.reduce(self.name, qty, f"{reason}; cut to {qty} sh")
        return Verdict.allow()
