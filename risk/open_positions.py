"""Max open positions: an order that would open a position in a new symbol is denied when the
account already holds (or has orders pending for) the maximum number of symbols."""

from __future__ import annotations

from risk.base import OrderIntent, RiskContext, RiskRule, Verdict


def open_symbols(context: RiskContext) -> set[str]:
    symbols = set(context.positions) | set(context.pending)
    return {s for s in symbols if context.position_qty(s) != 0}


class MaxOpenPositions(RiskRule):
    name = "max_open_positions"

    def __init__(self, max_positions: int) -> None:
        self.max_positions = max_positions  # 0 = off

    @property
    def active(self) -> bool:
        return self.max_positions > 0

    def check(self, intent: OrderIntent, context: RiskContext) -> Verdict:
        if self.max_positions <= 0 or context.position_qty(intent.symbol) != 0:
            return Verdict.allow()
        held = open_symbols(context)
        if len(held) < self.max_positions:
            return Verdict.allow()
        return Verdict.deny(
            self.name,
            f"{len(held)} open positions >= limit {self.max_positions}; {intent.symbol} would open one more",
        )
