"""The risk gate: the only road from a strategy to the broker.

Rules run in a fixed order (``from_config``): the kill switch first, then the account-level halts
(daily loss, drawdown), stale data, the order-rate budget, then the size limits, and the per-order notional
last so it judges the order as cut by the limits before it. ``deny`` or ``halt`` stops the
evaluation; ``reduce`` passes the smaller order on to the next rule. A ``halt`` trips the kill
switch (when the gate has one), durably. The caller journals every verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from bot.config import RiskConfig
from risk.base import Action, OrderIntent, RiskContext, RiskRule, Verdict
from risk.daily_loss import DailyLossLimit
from risk.drawdown import MaxDrawdown
from risk.gross_exposure import MaxGrossExposure
from risk.halted import HaltedRule
from risk.killswitch import KillSwitch
from risk.max_position import MaxPosition
from risk.no_short import NoShort
from risk.open_positions import MaxOpenPositions
from risk.order_notional import OrderNotional
from risk.order_rate import OrderRate
from risk.pattern_day_trader import PatternDayTrader
from risk.regular_session import RegularSession
from risk.stale_data import StaleData


@dataclass(frozen=True)
class GateResult:
    intent: OrderIntent | None  # what may go to the broker (None: nothing)
    verdict: Verdict  # the decisive verdict (allow when every rule allowed)


class RiskGate:
    def __init__(self, rules: Sequence[RiskRule], switch: KillSwitch | None = None) -> None:
        self.switch = switch
        # the kill switch is checked before any other rule
        self.rules = ([HaltedRule(switch)] if switch is not None else []) + list(rules)
        # only the rules whose settings leave them on are asked (``RiskRule.active``, read once
        # here: settings do not change during a run); the others would allow everything and count
        # nothing. Of those, the ones that judge the account or count orders (the others keep the
        # base's no-op), so a step with nothing to judge asks only those, in the same order.
        self._checking_rules = [r for r in self.rules if r.active]
        self._account_rules = [r for r in self._checking_rules if _overrides(r, "check_account")]
        self._counting_rules = [r for r in self._checking_rules if _overrides(r, "on_pass")]
        self._size_rules = [r for r in self.rules if isinstance(r, MaxPosition)]
        #: whether every account rule judges by equity figures alone (``RiskRule.reads_only_equity``):
        #: then ``account_breached`` answers for a replay's quiet steps
        self.judges_account_by_equity_only = all(r.reads_only_equity for r in self._account_rules)
        #: whether any account rule is on: without one, ``account_breached`` is always False
        self.judges_account = bool(self._account_rules)
        #: whether the last ``check_account`` tripped the kill switch itself (False when it was
        #: already halted): the engine flattens once, on the trip
        self.newly_halted = False

    @classmethod
    def from_config(
        cls,
        config: RiskConfig,
        switch: KillSwitch | None = None,
        *,
        extended_hours: bool = False,
        allow_short: bool = False,
    ) -> RiskGate:
        """The rules of ``[risk]``; ``extended_hours`` (``data.extended_hours``) and ``allow_short``
        (``broker.allow_short``) live in other sections. Safe defaults: session only, no shorts."""
        return cls(
            [
                DailyLossLimit(config.daily_loss_pct),
                MaxDrawdown(config.max_drawdown_pct),
                StaleData(config.max_stale_bars),
                RegularSession(extended_hours),
                NoShort(allow_short),
                PatternDayTrader(config.pdt_guard),
                # an absent limit (None) is off; the rules take 0 for "no limit"
                OrderRate(config.max_orders_per_minute or 0, config.max_orders_per_day or 0),
                MaxOpenPositions(config.max_open_positions or 0),
                MaxPosition(config.max_position_pct, config.max_position_notional or 0.0),
                MaxGrossExposure(config.max_gross_exposure_pct or 0.0),
                OrderNotional(config.min_order_notional or 0.0, config.max_order_notional or 0.0),
            ],
            switch,
        )

    @property
    def halted(self) -> bool:
        return self.switch is not None and self.switch.halted

    def _trip(self, verdict: Verdict) -> bool:
        """Halt the kill switch for ``verdict``; True when this call halted it (or there is no
        switch to remember an earlier halt)."""
        if self.switch is None:
            return True
        if not self.switch.halted:
            self.switch.halt(f"risk:{verdict.rule}", verdict.reason)
            return True
        return False

    def check_account(self, context: RiskContext) -> Verdict:
        """Account-level checks, once per decision step; a ``halt`` trips the kill switch."""
        self.newly_halted = False
        for rule in self._account_rules:
            verdict = rule.check_account(context)
            if verdict.action is Action.HALT:
                self.newly_halted = self._trip(verdict)
                return verdict
        return Verdict.allow()

    def account_breached(
        self, equity: float, cash: float, day_start: float | None, peak: float | None
    ) -> bool:
        """Whether ``check_account`` would answer anything but allow for an account at these
        figures, asked without tripping the kill switch (``bot.engine.quiet``: a step where this is
        True runs in full, and its own ``check_account`` acts). Only for a gate whose account rules
        read equity figures alone (``judges_account_by_equity_only``): the context carries no
        positions."""
        if not self._account_rules:
            return False
        # no time: such rules read the equity figures alone (``RiskRule.reads_only_equity``)
        context = RiskContext(equity, cash, _NO_POSITIONS, _NO_POSITIONS, day_start, peak)
        allow = Action.ALLOW
        for rule in self._account_rules:
            if rule.check_account(context).action is not allow:
                return True
        return False

    def evaluate(self, intent: OrderIntent, context: RiskContext) -> GateResult:
        decisive = Verdict.allow()
        for rule in self._checking_rules:
            verdict = rule.check(intent, context)
            if verdict.action is Action.HALT:
                self._trip(verdict)
                return GateResult(None, verdict)
            if verdict.action is Action.DENY:
                return GateResult(None, verdict)
            if verdict.action is Action.REDUCE and verdict.qty is not None:
                intent = intent.with_qty(verdict.qty)
                decisive = verdict
        for rule in self._counting_rules:
            rule.on_pass(intent, context)
        return GateResult(intent, decisive)

    def position_cap_function(self) -> Callable[[float], float | None] | None:
        """``position_cap`` as the one function that answers it (the rule's own ``limit`` when
        there is one size rule), or None when no size rule caps anything: for a caller asking at
        every step of a replay (``bot.engine.quiet``)."""
        rules = self._size_rules
        if not rules:
            return None
        return rules[0].limit if len(rules) == 1 else self.position_cap

    def position_cap(self, equity: float) -> float | None:
        """The largest position per symbol, in dollars, the size rules allow at ``equity`` (None:
        no cap). The planner does not propose past it: ``max_position`` would deny or cut it."""
        rules = self._size_rules
        if not rules:
            return None
        if len(rules) == 1:  # the usual case: one max_position rule, asked every step
            return rules[0].limit(equity)
        return min(rule.limit(equity) for rule in rules)


_NO_POSITIONS: Mapping = MappingProxyType({})


def _overrides(rule: RiskRule, method: str) -> bool:
    return getattr(type(rule), method) is not getattr(RiskRule, method)
