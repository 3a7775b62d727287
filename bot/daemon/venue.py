"""The broker side of a daemon step: where fills come from.

- ``SimVenue`` (dry run): the SimBroker fills on the new bars exactly as in a simulation; its
  account lives in memory, so a restart rebuilds it from the journal (fills, open orders).
- ``BrokerVenue`` (paper): Alpaca fills the orders; each step journals the fills the trade-updates
  stream queued (when enabled), polls the open orders' status and journals new fills, and
  ``reconcile`` runs at start-up and every few minutes.

Both journal every order they create outside the engine (halts, flattening).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import structlog

from bot.broker.base import Broker, Fill, Order, OrderStatus, Side
from bot.broker.reconcile import reconcile, request_from_record, settle_open_orders
from bot.broker.sim import SimBroker
from bot.broker.sim_journal import fill_and_journal
from bot.engine.market import Bar
from bot.journal.records import OrderRecord
from bot.journal.store import Journal

if TYPE_CHECKING:
    from bot.broker.trade_updates import TradeUpdates

log = structlog.get_logger(__name__)


class Venue(Protocol):
    broker: Broker

    def on_bars(self, start: datetime, bars: Mapping[str, Bar]) -> None: ...

    def reconcile(self) -> None: ...


class SimVenue:
    def __init__(self, broker: SimBroker, journal: Journal, run_id: str) -> None:
        self.broker = broker
        self.journal = journal
        self.run_id = run_id

    def on_bars(self, start: datetime, bars: Mapping[str, Bar]) -> None:
        fill_and_journal(self.broker, self.journal, self.run_id, start, bars)

    def reconcile(self) -> None:
        """Nothing to do: the simulated broker and the journal are one process."""

    def restore(self, marks: Mapping[str, float]) -> int:
        """Rebuild the account of a resumed run from the journal; returns the fills replayed."""
        fills = [
            Fill(f.client_order_id, f.symbol, Side(f.side), f.qty, f.price, f.commission, f.ts)
            for f in self.journal.fills(self.run_id)
        ]
        orders = [_restored_order(o) for o in self.journal.orders(self.run_id)]
        self.broker.restore(fills, orders, marks)
        reopened = [o for o in orders if o.status is OrderStatus.NEW]
        for order in reopened:  # a pending one is now sent (to the simulated broker)
            self.journal.record_order(self.run_id, order)
        log.info(
            "dry_run_restored",
            fills=len(fills),
            orders=len(orders),
            open_orders=len(reopened),
            equity=round(self.broker.account().equity, 2),
        )
        return len(fills)


def _restored_order(o: OrderRecord) -> Order:
    """A journaled order as the broker knew it (its request, protective stop included)."""
    request = request_from_record(o)
    return Order(
        request,
        o.created_at,
        OrderStatus(o.status),
        filled_qty=o.filled_qty,
        filled_avg_price=o.filled_avg_price,
        reason=o.reason or "",
        broker_order_id=o.broker_order_id or "",
        protective=o.protective,
    )


class BrokerVenue:
    def __init__(
        self, broker: Broker, journal: Journal, run_id: str, *, updates: TradeUpdates | None = None
    ) -> None:
        self.broker = broker
        self.journal = journal
        self.run_id = run_id
        #: the trade-updates stream (``alpaca.trade_updates``): its fills are journaled here, on
        #: the trading thread, before polling (which then finds them already journaled)
        self.updates = updates

    def on_bars(self, start: datetime, bars: Mapping[str, Bar]) -> None:
        if self.updates is not None:
            self.updates.apply(self.journal, self.run_id)
        settle_open_orders(self.journal, self.broker, self.run_id, now=datetime.now(UTC))

    def reconcile(self) -> None:
        report = reconcile(self.journal, self.broker, self.run_id)
        if report.errors:
            log.warning("reconcile_incomplete", errors=report.errors)


def journal_orders(journal: Journal, run_id: str, orders: list[Order]) -> None:
    for order in orders:
        journal.record_order(run_id, order)
