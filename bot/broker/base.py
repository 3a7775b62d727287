"""The broker contract shared by ``SimBroker`` and the Alpaca paper broker.

Quantities are whole shares (signed for positions: negative = short). Prices are floats in
dollars. Times are tz-aware UTC.

| method | must |
|---|---|
| ``account()`` | cash, equity (cash + marked positions) and buying power now |
| ``positions()`` | open positions keyed by symbol (no zero-quantity entries) |
| ``open_orders()`` | orders not yet filled, cancelled or rejected |
| ``submit(request)`` | idempotent on ``client_order_id``: a second submit with a known id returns the existing order and sends nothing. A refused order comes back with status ``rejected`` and a ``reason`` (it does not raise) |
| ``get_order(client_order_id)`` | the order with that id, or None |
| ``cancel(client_order_id)`` | cancel one open order and wait until the broker confirms; return its state then (CANCELED, FILLED if it filled first, still open if unconfirmed), None for an unknown id |
| ``cancel_all()`` | cancel every open order; return the cancelled orders |
| ``close_all()`` | cancel open orders, then submit market orders that flatten every position; return them |

A ``protective_stop`` on an entry request attaches a stop order for the filled quantity once the
entry fills (one-triggers-other); flattening a position cancels its protective stops. A stop sell
whose id ends in ``PROTECTIVE_SUFFIX`` is protective too (``bot.engine.protection`` places these).

Held shares (Alpaca's rule, both brokers): an open sell holds its shares, so a new sell beyond
``position - shares held by open sells`` is refused (``insufficient qty available``). To sell a
protected position its stop is cancelled first (``bot.engine.protection``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

PROTECTIVE_SUFFIX = "-stop"


def is_protective_id(client_order_id: str) -> bool:
    """Ids of protective stops: an entry's leg (``{entry}-stop``) or a re-protection."""
    return client_order_id.endswith(PROTECTIVE_SUFFIX)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"


class OrderStatus(StrEnum):
    PENDING = "pending"  # journaled, not yet acknowledged by the broker
    NEW = "new"  # accepted, waiting for a fill
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.PENDING, OrderStatus.NEW)


class OrderRequest(NamedTuple):
    """What the engine asks for. ``client_order_id`` is deterministic per decision. (Immutable
    records made per order are named tuples: several times cheaper to make than frozen
    dataclasses, which a simulation of thousands of orders feels.)"""

    client_order_id: str
    symbol: str
    side: Side
    qty: int
    type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    #: stop price of a protective stop to attach once this entry fills
    protective_stop: float | None = None


def malformed_reason(request: OrderRequest) -> str:
    """Why ``request`` is malformed at any venue ('' when it is well formed): every broker refuses
    these before sending anything."""
    if request.qty <= 0:
        return f"qty must be > 0, got {request.qty}"
    if request.type is OrderType.LIMIT and not (request.limit_price or 0) > 0:
        return "limit order needs a limit_price > 0"
    if request.type is OrderType.STOP and not (request.stop_price or 0) > 0:
        return "stop order needs a stop_price > 0"
    if request.protective_stop is not None and not request.protective_stop > 0:
        return "protective_stop must be > 0"
    return ""


@dataclass
class Order:
    """An order as the broker knows it. Mutable: status, fill and reason change over its life."""

    request: OrderRequest
    submitted_at: datetime
    status: OrderStatus = OrderStatus.NEW
    filled_qty: int = 0
    filled_avg_price: float | None = None
    reason: str = ""
    broker_order_id: str = ""
    #: True for a stop attached by ``protective_stop`` (or placed to protect a position)
    protective: bool = False
    #: the broker's id of this entry's protective leg, where the broker gives legs ids of their own
    leg_order_id: str = ""

    @property
    def client_order_id(self) -> str:
        return self.request.client_order_id

    @property
    def symbol(self) -> str:
        return self.request.symbol


class Fill(NamedTuple):
    client_order_id: str
    symbol: str
    side: Side
    qty: int
    price: float
    commission: float
    ts: datetime

    @property
    def signed_qty(self) -> int:
        return self.qty if self.side is Side.BUY else -self.qty


class Position(NamedTuple):
    """A held position (immutable: a broker hands out fresh ones; a simulation, one per held
    symbol every step)."""

    symbol: str
    qty: int
    avg_price: float
    last_price: float
    realized_pnl: float = 0.0

    @property
    def market_value(self) -> float:
        return self.qty * self.last_price

    @property
    def unrealized_pnl(self) -> float:
        return self.qty * (self.last_price - self.avg_price)


class Account(NamedTuple):
    """The account at one moment (immutable). A named tuple, not a frozen dataclass: a simulation
    reads one every step, and a tuple is made several times faster."""

    cash: float
    equity: float
    buying_power: float
    fees_paid: float = 0.0
    realized_pnl: float = 0.0
    #: broker-specific figures (Alpaca: ``daytrade_count``, ``portfolio_value``)
    extra: Mapping[str, float] = MappingProxyType({})


class Broker(ABC):
    """See the module docstring for what each method must do."""

    @abstractmethod
    def account(self) -> Account: ...

    @abstractmethod
    def positions(self) -> dict[str, Position]: ...

    @abstractmethod
    def open_orders(self) -> list[Order]: ...

    @abstractmethod
    def submit(self, request: OrderRequest) -> Order: ...

    @abstractmethod
    def get_order(self, client_order_id: str) -> Order | None: ...

    @abstractmethod
    def cancel(self, client_order_id: str) -> Order | None: ...

    @abstractmethod
    def cancel_all(self) -> list[Order]: ...

    @abstractmethod
    def close_all(self) -> list[Order]: ...


def pending_quantities(open_orders: list[Order]) -> dict[str, int]:
    """Signed quantity still on its way per symbol (open, non-protective orders): a resting
    protective stop is protection, not a pending trade."""
    pending: dict[str, int] = {}
    for order in open_orders:
        if not order.protective:
            sign = 1 if order.request.side is Side.BUY else -1
            pending[order.symbol] = pending.get(order.symbol, 0) + sign * (
                order.request.qty - order.filled_qty
            )
    return pending


def broker_day_trades(account: Account) -> int | None:
    """The broker's own day-trade count (Alpaca's ``daytrade_count``), None where it keeps none."""
    count = account.extra.get("daytrade_count")
    return int(count) if count is not None else None
