"""Max gross exposure: the sum of |position value| over all symbols, as a fraction of equity.

Orders that shrink a position always pass; a growing order is cut to what fits, or denied.
"""

from __future__ import annotations

import math

from risk.base import OrderIntent, RiskContext, RiskRule, Verdict


def gross_exposure(context: RiskContext, symbol: str, qty: int, price: float) -> float:
    """Gross exposure with ``symbol`` held at ``qty`` (incl. pending) valued at ``price``."""
    total = abs(qty) * price
    symbols = set(context.positions) | set(context.pending)
    for other in symbols - {symbol}:
        total += abs(context.position_qty(other)) * context.price(other)
    return total


class MaxGrossExposure(RiskRule):
    name = "max_gross_exposure"

    def __init__(self, max_pct: float) -> None:
        self.max_pct = max_pct  # 0 = off

    @property
    def active(self) -> bool:
        return self.max_pct > 0

    def check(self, intent: OrderIntent, context: RiskContext) -> Verdict:
        if self.max_pct <= 0:
            return Verdict.allow()
        current = context.position_qty(intent.symbol)
        after = current + intent.signed_qty
        crosses_zero = current != 0 and after != 0 and (after > 0) != (current > 0)
        # a flip to the other side is a new position, even when it is no larger than the old one
        if abs(after) <= abs(current) and not crosses_zero:
            return Verdict.allow()
        limit = self.max_pct * max(context.equity, 0.0)
        gross = gross_exposure(context, intent.symbol, after, intent.price)
        if gross <= limit:
            return Verdict.allow()
        others = gross - abs(after) * intent.price
        allowed_abs = max(math.floor((limit - others) / intent.price), 0)
        qty = abs(current) + allowed_abs if crosses_zero else allowed_abs - abs(current)
        numbers = f"gross exposure {gross:,.2f} > limit {limit:,.2f} ({self.max_pct:.0%} of equity {context.equity:,.2f})"
        if qty <= 0:
            return Verdict.deny(self.name, numbers)
        return Verdict.reduce(self.name, min(qty, intent.qty), f"{numbers}; cut to {min(qty, intent.qty)} sh")
