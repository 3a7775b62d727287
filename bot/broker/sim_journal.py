"""Hand a SimBroker its next bars and journal what changed: the simulation's and the dry run's
shared fill step (one code path, so a dry run fills exactly like a simulation)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.broker.base import Fill
from bot.broker.sim import Bar, SimBroker
from bot.journal.store import Journal


def fill_and_journal(
    broker: SimBroker, journal: Journal, run_id: str, ts: datetime, bars: Mapping[str, Bar]
) -> list[Fill]:
    """``broker.on_bars(ts, bars)``, then journal every fill and every order whose status changed
    (filled, rejected at fill) or that the broker created during the bar (protective stops, even
    one born and filled in the same bar)."""
    if not broker.has_open_orders():  # nothing to fill, and no fill to attach a stop to: marks only
        return broker.on_bars(ts, bars)
    open_before = {o.client_order_id: o.status for o in broker.open_orders()}
    known_before = broker.order_count
    fills = broker.on_bars(ts, bars)
    for order in broker.orders_since(known_before):
        journal.record_order(run_id, order)
    for client_order_id, status in open_before.items():
        order = broker.get_order(client_order_id)
        if order is not None and order.status != status:
            journal.record_order(run_id, order)
    for fill in fills:
        journal.record_fill(run_id, fill)
    return fills
