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
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from bot.broker.base import Position, Side


class Action(StrEnum):
    ALLOW = "allow"
    REDUCE = "reduce"
    DENY = "deny"
    HALT = "halt"


@dataclass(frozen=True)
class OrderIntent:
    """An order the engine would like to place, before the risk gate has seen it."""

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
        return replace(self, qty=qty)


@dataclass(frozen=True)
class RiskContext:
    equity: float
    cash: float
    positions: Mapping[str, Position]
    #: quantity already on its way (open orders), signed, by symbol
    pending: Mapping[str, int]

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
        return Verdict(Action.ALLOW)

    @staticmethod
    def reduce(rule: str, qty: int, reason: str) -> Verdict:
        return Verdict(Action.REDUCE, rule, reason, qty)

    @staticmethod
    def deny(rule: str, reason: str) -> Verdict:
        return Verdict(Action.DENY, rule, reason)

    @staticmethod
    def halt(rule: str, reason: str) -> Verdict:
        return Verdict(Action.HALT, rule, reason)


class RiskRule(ABC):
    name: str = "rule"

    @abstractmethod
    def check(self, intent: OrderIntent, context: RiskContext) -> Verdict:
        """Judge one intent; must not change any state."""
