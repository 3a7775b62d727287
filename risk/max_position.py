"""Max position per symbol, as a fraction of equity and (optionally) in dollars.

Orders that shrink a position always pass. An order that would grow a position past the limit
is cut down to the largest whole-share quantity that fits, or denied when none fits.
"""

from __future__ import annotations

import math

from risk.base import OrderIntent, RiskContext, RiskRule, Verdict


class MaxPosition(RiskRule):
    name = "max_position"

    def __init__(self, max_pct: float, max_notional: float = 0.0) -> None:
        self.max_pct = max_pct
        self.max_notional = max_notional  # 0 = no dollar cap

    def limit(self, equity: float) -> float:
        cap = self.max_pct * max(equity, 0.0)
        return min(cap, self.max_notional) if self.max_notional > 0 else cap

    def check(self, intent: OrderIntent, context: RiskContext) -> Verdict:
        current = context.position_qty(intent.symbol)
        after = current + intent.signed_qty
        crosses_zero = current != 0 and after != 0 and (after > 0) != (current > 0)
        # a flip to the other side is a new position, even when it is no larger than the old one
        if abs(after) <= abs(current) and not crosses_zero:
            return Verdict.allow()
        limit = self.limit(context.equity)
        if abs(after) * intent.price <= limit:
            return Verdict.allow()
        allowed_abs = math.floor(limit / intent.price)
        # crossing through zero: closing the old side is always fine, the new side is capped
        qty = abs(current) + allowed_abs if crosses_zero else allowed_abs - abs(current)
        numbers = (
            f"{intent.symbol} position {abs(after)} sh x {intent.price:.2f} = "
            f"{abs(after) * intent.price:,.2f} > limit {limit:,.2f}"
        )
        if qty <= 0:
            return Verdict.deny(self.name, numbers)
        return Verdict.reduce(self.name, min(qty, intent.qty), f"{numbers}; cut to {qty} sh")
