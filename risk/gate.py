"""The risk gate: the only road from a strategy to the broker.

Rules run in a fixed order. ``deny`` or ``halt`` stops the evaluation; ``reduce`` passes the
smaller order on to the next rule. The caller journals every verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.config import RiskConfig
from risk.base import Action, OrderIntent, RiskContext, RiskRule, Verdict
from risk.max_position import MaxPosition


@dataclass(frozen=True)
class GateResult:
    intent: OrderIntent | None  # what may go to the broker (None: nothing)
    verdict: Verdict  # the decisive verdict (allow when every rule allowed)


class RiskGate:
    def __init__(self, rules: Sequence[RiskRule]) -> None:
        self.rules = list(rules)

    @classmethod
    def from_config(cls, config: RiskConfig) -> RiskGate:
        return cls([MaxPosition(config.max_position_pct, config.max_position_notional)])

    def evaluate(self, intent: OrderIntent, context: RiskContext) -> GateResult:
        decisive = Verdict.allow()
        for rule in self.rules:
            verdict = rule.check(intent, context)
            if verdict.action in (Action.DENY, Action.HALT):
                return GateResult(None, verdict)
            if verdict.action is Action.REDUCE and verdict.qty is not None:
                intent = intent.with_qty(verdict.qty)
                decisive = verdict
        return GateResult(intent, decisive)
