"""Shorting is off unless ``broker.allow_short``: a sell may close a long (and what is already on
its way counts), never open or grow a short. The simulated broker refuses such fills too; this
rule keeps them from ever reaching a real account, where a margin account would let them through."""

from __future__ import annotations

from bot.broker.base import Side
from risk.base import OrderIntent, RiskContext, RiskRule, Verdict


class NoShort(RiskRule):
    name = "no_short"

    def __init__(self, allow_short: bool) -> None:
        self.allow_short = allow_short

    @property
    def active(self) -> bool:
        return not self.allow_short

    def check(self, intent: OrderIntent, context: RiskContext) -> Verdict:
        if self.allow_short or intent.side is not Side.SELL:
            return Verdict.allow()
        position = context.positions.get(intent.symbol)
        # sells on their way count; buys on their way do not (they may never fill)
        held = (position.qty if position else 0) + min(context.pending.get(intent.symbol, 0), 0)
        if intent.qty <= held:
            return Verdict.allow()
        if held > 0:
            return Verdict.reduce(self.name, held, f"sell {intent.qty} > {held} held: shorting is off")
        return Verdict.deny(
            self.name, f"sell {intent.qty} with {max(held, 0)} held: shorting is off (broker.allow_short)"
        )
