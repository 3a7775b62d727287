"""The risk-rule contract.

A rule looks at one proposed order (an ``OrderIntent``) in the account's current state (a
``RiskContext``) and answers with a ``Verdict``:

| action | meaning |
|---|---|
| ``allow`` | the order may go on as it is |
| ``reduce`` | the order may go on with the smaller ``qty`` given (e.g. cut to the position limit) |
| ``deny`` | this order may not go; trading goes on |
| ``halt`` | stop all trading (the kill switch) |

Every verdict other than ``allow`` carries the rule's name and a reason with the numbers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar, NamedTuple

from bot.broker.base import Position, Side


class Action(StrEnum):
    ALLOW = "allow"
    REDUCE = "reduce"
    DENY = "deny"
    HALT = "halt"


class OrderIntent(NamedTuple):
    """An order the engine would like to place, before the risk gate has seen it (immutable)."""

    client_order_id: str
    symbol: str
    side: Side
    qty: int
    price: float  # the last close: the reference price for notional checks
    ts: datetime

    @property
    def signed_qty(self) -> int:
        return self.qty if self.side is Side.BUY else -self.qty

    def with_qty(self, qty: int) -> OrderIntent:
        return self._replace(qty=qty)


class RiskContext(NamedTuple):
    """The account as one decision step sees it (immutable). A named tuple, not a frozen
    dataclass: the engine makes one every step, and a tuple is made several times faster
    (``context._replace(...)`` gives a changed copy)."""

    equity: float
    cash: float
    positions: Mapping[str, Position]
    #: quantity already on its way (open orders), signed, by symbol
    pending: Mapping[str, int]
    #: equity at the previous New York trading day's close (the run's first equity on day one)
    day_start_equity: float | None = None
    #: highest equity seen so far in this run
    peak_equity: float | None = None
    #: the decision time
    now: datetime | None = None
    #: per symbol, bars of the market's timeline since its latest bar (0: fresh)
    bars_behind: Mapping[str, int] = MappingProxyType({})
    #: the broker's own count of day trades in the last five business days (Alpaca's
    #: ``daytrade_count``; None where the broker keeps none, e.g. the simulated broker)
    broker_day_trades: int | None = None

    def price(self, symbol: str, fallback: float = 0.0) -> float:
        held = self.positions.get(symbol)
        return held.last_price if held else fallback

    def position_qty(self, symbol: str) -> int:
        held = self.positions.get(symbol)
        return (held.qty if held else 0) + self.pending.get(symbol, 0)


@dataclass(frozen=True)
class Verdict:
    action: Action
    rule: str = ""
    reason: str = ""
    qty: int | None = None  # the reduced quantity, for REDUCE

    @staticmethod
    def allow() -> Verdict:
        return _ALLOW  # one shared value (frozen): a rule answers this at every step

    @staticmethod
    def reduce(rule: str, qty: int, reason: str) -> Verdict:
        return Verdict(Action.REDUCE, rule, reason, qty)

    @staticmethod
    def deny(rule: str, reason: str) -> Verdict:
        return Verdict(Action.DENY, rule, reason)

    @staticmethod
    def halt(rule: str, reason: str) -> Verdict:
        return Verdict(Action.HALT, rule, reason)


_ALLOW = Verdict(Action.ALLOW)


class RiskRule(ABC):
    name: str = "rule"
    #: True when ``check_account`` reads nothing of the context but ``equity``,
    #: ``day_start_equity`` and ``peak_equity`` (and has no side effect): a replay's quiet steps
    #: (``bot.engine.quiet``) may then ask it without building the whole context
    reads_only_equity: ClassVar[bool] = False

    @property
    def active(self) -> bool:
        """False for a rule its settings turn off (a limit of 0, a guard disabled): such a rule
        allows everything and counts nothing, so the gate does not ask it (a simulation asks the
        gate thousands of times). Rules with an off setting override this."""
        return True

    @abstractmethod
    def check(self, intent: OrderIntent, context: RiskContext) -> Verdict:
        """Judge one intent; must not change any state."""

    def check_account(self, context: RiskContext) -> Verdict:
        """Judge the account as a whole, once per decision step, orders or not (default: allow)."""
        return Verdict.allow()

    def on_pass(self, intent: OrderIntent, context: RiskContext) -> None:
        """Called by the gate for an order that passed every rule, with the context it was judged
        in (rules that count orders use it)."""


def reduces_exposure(intent: OrderIntent, context: RiskContext) -> bool:
    """True when the order moves the symbol's position toward zero without crossing it."""
    current = context.position_qty(intent.symbol)
    after = current + intent.signed_qty
    return abs(after) < abs(current) and (after == 0 or (after > 0) == (current > 0))
