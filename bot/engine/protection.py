"""Trading a position that a broker-held stop protects, the way Alpaca allows it.

At Alpaca an open stop sell *holds* its shares: any other sell of them is refused (403
``insufficient qty available``), and a buy while that sell is open is refused as a potential wash
trade. So the engine never sends an order next to a live protective stop of the same symbol:

| order | before | after |
|---|---|---|
| a sale (reduction or exit) | cancel the symbol's protective stops and wait until the broker confirms | a stop for what is left, at the old stop price (id ``{sale}-stop``: protective, GTC) |
| a buy (adding to the long) | the same | the buy carries its own stop (OTO) for what it adds; the shares held before are re-protected at the old price once no order of the symbol is open (``keep``: the next steps) |

A cancel that is not confirmed in time leaves the order unsent for this step (the next step
tries again) and says so in the log; a stop that filled while being cancelled means the position
changed, so the step's plan for that symbol is dropped. Every order placed here is journaled
before it is sent, like the engine's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import structlog

from bot.broker.base import (
    PROTECTIVE_SUFFIX,
    Broker,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
)
from bot.journal.store import Journal

log = structlog.get_logger(__name__)


class Protection:
    def __init__(self, broker: Broker, journal: Journal, run_id: str, *, log_level: str = "info") -> None:
        self.broker = broker
        self.journal = journal
        self.run_id = run_id
        #: the level of the lines that say a stop was released or placed (problems are warnings)
        self.log_level = log_level
        #: symbol -> stop price, for shares whose stop was cancelled to let a buy through
        self._owed: dict[str, float] = {}

    @property
    def owed(self) -> bool:
        """True while some shares wait to be re-protected (``keep`` has work)."""
        return bool(self._owed)

    @staticmethod
    def stops_of(symbol: str, open_orders: Iterable[Order]) -> list[Order]:
        """The open protective stop sells of ``symbol`` (the ones that hold a long's shares)."""
        return [
            o
            for o in open_orders
            if o.protective and o.symbol == symbol and o.request.side is Side.SELL and o.status.is_open
        ]

    def release(self, stops: list[Order], at: datetime) -> float | None:
        """Cancel ``stops`` and wait for each confirmation; the price they protected at, or None
        when the shares are not free (a cancel unconfirmed, or a stop that filled meanwhile)."""
        price = max(o.request.stop_price or 0.0 for o in stops) or None
        for stop in stops:
            final = self.broker.cancel(stop.client_order_id)
            if final is not None:
                self.journal.record_order(self.run_id, final)
            if final is None or final.status is not OrderStatus.CANCELED:
                status = "unknown" if final is None else str(final.status)
                log.warning(
                    "protection_not_released",
                    client_order_id=stop.client_order_id,
                    status=status,
                    note="the order waits for the next step",
                )
                return None
        getattr(log, self.log_level)(
            "protection_released",
            symbol=stops[0].symbol,
            stops=[o.client_order_id for o in stops],
            stop_price=price,
            at=at.isoformat(),
        )
        return price

    def protect(self, symbol: str, qty: int, stop_price: float, base_id: str, at: datetime) -> Order:
        """A GTC stop sell of ``qty`` at ``stop_price`` (id ``{base_id}-stop``), journaled first."""
        request = OrderRequest(
            f"{base_id}{PROTECTIVE_SUFFIX}", symbol, Side.SELL, qty, OrderType.STOP, stop_price=stop_price
        )
        self.journal.record_order(self.run_id, Order(request, at, OrderStatus.PENDING, protective=True))
        order = self.broker.submit(request)
        self.journal.record_order(self.run_id, order)
        if order.status is OrderStatus.REJECTED:
            log.warning(
                "protection_rejected", symbol=symbol, qty=qty, stop_price=stop_price, reason=order.reason
            )
        else:
            getattr(log, self.log_level)(
                "protection_placed",
                symbol=symbol,
                qty=qty,
                stop_price=stop_price,
                client_order_id=request.client_order_id,
            )
        return order

    def after(self, order: Order, held: int, pending: int, stop_price: float, at: datetime) -> Order | None:
        """After ``order`` was sent with the symbol's stops released: protect what stays held.

        ``held`` is the position before the order, ``pending`` the symbol's other open orders
        (signed). A sale's remainder gets its stop now (open sells hold their own shares). Next to
        a working buy a stop sell would be a wash trade, so after an accepted buy (or beside an
        open one) the stop is owed until ``keep`` finds the buy done. Returns the stop placed now."""
        request, accepted = order.request, order.status is not OrderStatus.REJECTED
        if pending > 0 or (request.side is Side.BUY and accepted):
            self._owed[request.symbol] = stop_price
            return None
        sold = request.qty if request.side is Side.SELL and accepted else 0
        remainder = held + min(pending, 0) - sold
        if remainder <= 0:
            return None
        return self.protect(request.symbol, remainder, stop_price, request.client_order_id, at)

    def owes(self, symbol: str) -> bool:
        """True while shares of ``symbol`` wait for the stop a buy made ``after`` cancel."""
        return symbol in self._owed

    def keep(self, at: datetime, positions: Mapping[str, Position], open_orders: list[Order]) -> list[Order]:
        """Re-protect what a buy left bare: once no non-protective order of the symbol is open
        (a stop sell next to an open buy would be a wash trade), a stop for the uncovered shares.
        Returns the stops placed."""
        placed = []
        for symbol, price in list(self._owed.items()):
            position = positions.get(symbol)
            if position is None or position.qty <= 0:
                del self._owed[symbol]
                continue
            if any(o.symbol == symbol and not o.protective for o in open_orders):
                continue  # the buy is still working
            covered = sum(o.request.qty - o.filled_qty for o in self.stops_of(symbol, open_orders))
            if position.qty > covered:
                order = self.protect(
                    symbol, position.qty - covered, price, f"keep-{symbol}-{at:%Y%m%dT%H%M%SZ}", at
                )
                if order.status.is_open:
                    placed.append(order)
            del self._owed[symbol]
        return placed
