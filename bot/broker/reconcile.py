"""Bring the journal and the broker into agreement: at start-up and every few minutes.

| journal says | broker says | action |
|---|---|---|
| pending / new | knows the id | journal takes the broker's status; new fill qty is journaled as a fill |
| pending | does not know the id | the process died between journaling and sending: send it now (the id makes a second send harmless) — except a sale of more than the account now holds: a paper account is a margin account with shorting on, so that resend would open a short; it is closed in the journal instead ("not resent") and the next decision step plans afresh through the risk gate |
| new | does not know the id | closed in the journal: canceled, reason "unknown to broker" |
| (nothing) | an open order | adopted: journaled with reason "adopted from broker", logged as a warning |
| (nothing) | a position (or a different qty) | adopted: a filled order + fill for the difference at the broker's average price |

Protective legs (``{entry}-stop``) of journaled entries are journaled quietly: they are ours.
Positions are compared after the orders are settled twice; a symbol whose orders got fills in
between is left for the next run (otherwise a fill racing the snapshot would be "adopted").
Broker errors on one order are collected in the report and the others still reconcile.
An entry resent here keeps its ``protective_stop`` (journaled with the order since schema v4).
Known limit: positions are compared with this run's fills only (the daemon resumes one run per
journal, so its fills are the account's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from bot.broker.base import (
    PROTECTIVE_SUFFIX,
    Broker,
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
)
from bot.errors import TemporaryError
from bot.journal.records import OrderRecord
from bot.journal.store import Journal

log = structlog.get_logger(__name__)

ADOPTED = "adopted from broker"
UNKNOWN = "unknown to broker"
NOT_RESENT = "not resent"


@dataclass
class Report:
    """What one reconciliation did, by client_order_id (positions by symbol)."""

    updated: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)
    closed_unknown: list[str] = field(default_factory=list)
    adopted_orders: list[str] = field(default_factory=list)
    adopted_positions: list[str] = field(default_factory=list)
    fills: int = 0
    errors: list[str] = field(default_factory=list)


def reconcile(journal: Journal, broker: Broker, run_id: str, *, now: datetime | None = None) -> Report:
    """Settle the run's open journal orders with the broker, then adopt what only the broker has."""
    now = now or datetime.now(UTC)
    report = Report()
    for record in journal.orders(run_id, [OrderStatus.PENDING, OrderStatus.NEW]):
        cid = record.client_order_id
        try:
            _settle_record(journal, broker, run_id, record, now, report)
        except TemporaryError as exc:
            report.errors.append(f"{cid}: {exc}")
            log.error("reconcile_order_failed", client_order_id=cid, error=str(exc))
    try:
        _adopt_orders(journal, broker, run_id, report)
        held = broker.positions()
        # a fill landing between the order pass and the positions snapshot would look like a
        # position opened outside the bot: settle again, and leave symbols that moved for next time
        moving = _settle_again(journal, broker, run_id, now, report)
        _adopt_positions(journal, held, run_id, now, report, skip=moving)
    except TemporaryError as exc:
        report.errors.append(f"adoption: {exc}")
        log.error("reconcile_adoption_failed", error=str(exc))
    log.info(
        "reconciled",
        run_id=run_id,
        updated=len(report.updated),
        resent=report.resent,
        closed_unknown=report.closed_unknown,
        adopted_orders=report.adopted_orders,
        adopted_positions=report.adopted_positions,
        errors=len(report.errors),
    )
    return report


def settle_open_orders(
    journal: Journal, broker: Broker, run_id: str, *, now: datetime | None = None
) -> Report:
    """The cheap update between reconciliations: poll the broker for the run's open journal orders
    and journal their new status and fills (no resends, no adoption)."""
    report = Report()
    _settle_again(journal, broker, run_id, now or datetime.now(UTC), report)
    return report


def _settle_record(
    journal: Journal, broker: Broker, run_id: str, record: OrderRecord, now: datetime, report: Report
) -> None:
    cid, status = record.client_order_id, record.status
    order = broker.get_order(cid)
    if order is None and status == OrderStatus.PENDING and _would_open_a_short(broker, record):
        closed = Order(
            request_from_record(record),
            now,
            OrderStatus.CANCELED,
            protective=record.protective,
            reason=f"{NOT_RESENT}: selling {record.qty} now would open a short",
        )
        journal.record_order(run_id, closed)
        report.closed_unknown.append(cid)
        log.warning(
            "reconcile_not_resending_a_short", client_order_id=cid, symbol=record.symbol, qty=record.qty
        )
        return
    if order is None and status == OrderStatus.PENDING:
        log.warning("reconcile_resending_pending_order", client_order_id=cid)
        order = broker.submit(request_from_record(record))
        report.resent.append(cid)
    elif order is None:
        closed = Order(
            request_from_record(record),
            now,
            OrderStatus.CANCELED,
            reason=UNKNOWN,
            protective=record.protective,
        )
        journal.record_order(run_id, closed)
        report.closed_unknown.append(cid)
        log.warning("reconcile_order_unknown_to_broker", client_order_id=cid)
        return
    keep_journal_facts(order, record)
    record_order_and_fill(journal, run_id, order, now, report)
    if str(order.status) != status:
        report.updated.append(cid)


def _would_open_a_short(broker: Broker, record: OrderRecord) -> bool:
    """A pending sale larger than the long the broker holds now (its shares were sold meanwhile)."""
    if record.side != Side.SELL:
        return False
    held = broker.positions().get(record.symbol)
    return record.qty > (held.qty if held is not None and held.qty > 0 else 0)


def keep_journal_facts(order: Order, record: OrderRecord) -> None:
    """What the broker does not report (protective flag, our reason, e.g. "adopted") stays."""
    order.protective = order.protective or record.protective
    order.reason = order.reason or record.reason or ""


def record_order_and_fill(journal: Journal, run_id: str, order: Order, now: datetime, report: Report) -> None:
    """Journal the order and any fill quantity the journal has not seen yet."""
    journal.record_order(run_id, order)
    new_qty = order.filled_qty - journal.filled_qty(run_id, order.client_order_id)
    if new_qty > 0 and order.filled_avg_price is not None:
        # the broker reports an average, not each execution: the new shares are journaled at it
        journal.record_fill(
            run_id,
            Fill(
                order.client_order_id,
                order.symbol,
                order.request.side,
                new_qty,
                order.filled_avg_price,
                0.0,
                now,
            ),
        )
        report.fills += 1


def _settle_again(journal: Journal, broker: Broker, run_id: str, now: datetime, report: Report) -> set[str]:
    """Refresh the still-open journal orders (no resends); symbols that got new fills."""
    moving = set()
    for record in journal.orders(run_id, [OrderStatus.PENDING, OrderStatus.NEW]):
        order = broker.get_order(record.client_order_id)
        if order is None:
            continue
        before = report.fills
        keep_journal_facts(order, record)
        record_order_and_fill(journal, run_id, order, now, report)
        if report.fills != before:
            moving.add(order.symbol)
    return moving


def _adopt_orders(journal: Journal, broker: Broker, run_id: str, report: Report) -> None:
    for order in broker.open_orders():
        cid = order.client_order_id
        if journal.order(cid) is not None:
            continue
        parent = cid.removesuffix(PROTECTIVE_SUFFIX) if order.protective else None
        if parent and journal.order(parent) is not None:
            order.reason = f"protective stop of {parent}"
            journal.record_order(run_id, order)
            continue
        order.reason = ADOPTED
        journal.record_order(run_id, order)
        report.adopted_orders.append(cid)
        log.warning(
            "reconcile_adopted_order",
            client_order_id=cid,
            symbol=order.symbol,
            side=str(order.request.side),
            qty=order.request.qty,
            type=str(order.request.type),
            note="open order placed outside the bot",
        )


def _adopt_positions(
    journal: Journal, held: dict[str, Position], run_id: str, now: datetime, report: Report, *, skip: set[str]
) -> None:
    journaled = {p.symbol: p.qty for p in journal.positions(run_id)}
    for symbol in sorted((set(journaled) | set(held)) - skip):
        position = held.get(symbol)
        diff = (position.qty if position else 0) - journaled.get(symbol, 0)
        if not diff:
            continue
        price = position.avg_price if position else 0.0
        request = OrderRequest(
            f"adopted-{symbol}-{now:%Y%m%dT%H%M%S}", symbol, Side.BUY if diff > 0 else Side.SELL, abs(diff)
        )
        order = Order(
            request, now, OrderStatus.FILLED, filled_qty=abs(diff), filled_avg_price=price, reason=ADOPTED
        )
        record_order_and_fill(journal, run_id, order, now, report)
        report.adopted_positions.append(symbol)
        log.warning(
            "reconcile_adopted_position",
            symbol=symbol,
            broker_qty=position.qty if position else 0,
            journal_qty=journaled.get(symbol, 0),
            avg_price=price,
            note="position changed outside the bot",
        )


def request_from_record(record: OrderRecord) -> OrderRequest:
    """The journaled request, protective stop included."""
    return OrderRequest(
        record.client_order_id,
        record.symbol,
        Side(record.side),
        record.qty,
        OrderType(record.type),
        limit_price=record.limit_price,
        stop_price=record.stop_price,
        protective_stop=record.protective_stop,
    )
