"""``AlpacaBroker``: the broker contract (see ``bot.broker.base``) on an Alpaca *paper* account.

Every call goes through ``alpaca_http``: bounded by ``timeout_seconds``, retried by one policy,
and order submission never resent without first looking the ``client_order_id`` up.

Mapping to Alpaca (and the constraints that come with it):

| ours | Alpaca |
|---|---|
| market | ``MarketOrderRequest``, time_in_force DAY (a market order left over night is stale), except an entry with a protective stop: GTC (below) |
| limit / stop | ``LimitOrderRequest`` / ``StopOrderRequest``, time_in_force GTC: a resting level is a decision that should survive the close, like SimBroker's orders |
| ``protective_stop`` | order_class OTO with ``stop_loss=StopLossRequest(stop_price)``, time_in_force GTC: the stop leg takes its parent's time in force (alpacahq/Alpaca-API#283), so a DAY entry's stop would expire at the first close and leave the position bare from the second day. The leg is *held* until the entry fills, then live for the filled qty. Alpaca only allows it on market/limit entries, whole shares, no extended hours, and refuses a stop on the wrong side of the entry's price (422) |
| protective leg | reported as ``{entry id}-stop`` with ``protective=True`` (Alpaca gives legs their own ids). Alpaca may stop nesting a leg under its entry once the entry fills (older user reports; ``probe-alpaca`` checks): the broker knows its legs by their broker ids, learnt from every nested answer (the submit's included) and, after a restart, from the journal (``know_legs``, ``Journal.protective_legs``); an un-nested leg is then reported exactly like a nested one |
| a standalone stop whose id ends in ``-stop`` | protective too: the re-protection of what a partial sale left (``bot.engine.protection``) |
| statuses | new/accepted/pending_new/partially_filled/... -> NEW (``filled_qty`` kept); filled -> FILLED; canceled/expired/replaced -> CANCELED; rejected/suspended -> REJECTED |

Cancels are asynchronous at Alpaca (``pending_cancel`` first, the shares still held): ``cancel``
and ``cancel_all`` wait, up to ``CANCEL_WAIT_SECONDS``, until the broker confirms; ``close_all``
retries the symbols Alpaca's 207 refused (shares held by cancels in flight) until the account is
flat or ``FLATTEN_SECONDS`` have passed, then says which symbols are left.

``submit`` remembers the ids it sent in this process: resubmitting one sends nothing (a GET
refreshes it). An id sent by an earlier process is caught by Alpaca's 422 "client_order_id must be
unique", which returns the existing order. A refused order comes back REJECTED with Alpaca's
message; an order whose fate is unknown after every retry raises ``TemporaryError`` (the journal
keeps it pending and ``reconcile`` settles it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import structlog

from bot.broker.alpaca_http import AlpacaRefused, RetryPolicy, build_trading_client
from bot.broker.base import (
    PROTECTIVE_SUFFIX,
    Account,
    Broker,
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
    is_protective_id,
    malformed_reason,
)
from bot.config import AlpacaConfig, Secrets

log = structlog.get_logger(__name__)

STOP_SUFFIX = PROTECTIVE_SUFFIX  # an entry's leg is reported as "{entry id}-stop"
CANCEL_WAIT_SECONDS = 5.0  # a cancel Alpaca has not confirmed by then is reported, not assumed
FLATTEN_SECONDS = 10.0  # kill's promise: flat, or a clear error, within this
_POLL_SECONDS = 0.25  # one GET per poll: a 5 s wait costs at most 20 of the 200 requests a minute
_STATUS = {
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "expired": OrderStatus.CANCELED,
    "replaced": OrderStatus.CANCELED,
    "rejected": OrderStatus.REJECTED,
    "suspended": OrderStatus.REJECTED,
}


def _value(enum_or_str: Any) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str) or "")


def _num(text: Any) -> float | None:
    return None if text in (None, "") else float(text)


def map_order(raw: Any, *, parent_cid: str | None = None) -> Order:
    """An alpaca-py ``Order`` as ours; ``parent_cid`` marks a protective leg of that entry."""
    kind = _value(raw.type or raw.order_type)
    type_ = OrderType.LIMIT if kind == "limit" else OrderType.MARKET if kind == "market" else OrderType.STOP
    legs = [leg for leg in raw.legs or [] if _value(leg.type or leg.order_type) == "stop"]
    request = OrderRequest(
        client_order_id=f"{parent_cid}{STOP_SUFFIX}" if parent_cid else raw.client_order_id,
        symbol=raw.symbol or "",
        side=Side(_value(raw.side)),
        qty=int(float(raw.qty or 0)),
        type=type_,
        limit_price=_num(raw.limit_price),
        stop_price=_num(raw.stop_price),
        protective_stop=_num(legs[0].stop_price) if legs and parent_cid is None else None,
    )
    protective = parent_cid is not None or (
        type_ is OrderType.STOP and is_protective_id(request.client_order_id)
    )
    return Order(
        request,
        raw.submitted_at.astimezone(UTC),
        _STATUS.get(_value(raw.status), OrderStatus.NEW),
        filled_qty=int(float(raw.filled_qty or 0)),
        filled_avg_price=_num(raw.filled_avg_price),
        broker_order_id=str(raw.id),
        protective=protective,
        leg_order_id=str(legs[0].id) if legs and parent_cid is None else "",
    )


class AlpacaBroker(Broker):
    """The Alpaca paper account behind the broker contract. See the module docstring."""

    def __init__(
        self, config: AlpacaConfig, secrets: Secrets, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._client = build_trading_client(config, secrets)
        self._policy = RetryPolicy(config.max_retries, config.backoff_seconds, sleep=sleep)
        self._sent: set[str] = set()
        self._legs: dict[str, str] = {}  # leg's broker id -> "{entry id}-stop"
        self._pause = (
            time.sleep
        )  # polling a cancel in flight waits for real (``sleep`` is the retry backoff's)

    def know_legs(self, legs: Mapping[str, str]) -> None:
        """Protective legs placed by an earlier process: broker id -> our id (``Journal.protective_legs``),
        so a leg Alpaca no longer nests under its entry is still reported as ours."""
        self._legs.update(legs)

    # ---- reading state -------------------------------------------------------------------

    def account(self) -> Account:
        raw = self._policy.call("get account", self._client.get_account)
        return Account(
            cash=float(raw.cash or 0),
            equity=float(raw.equity or 0),
            buying_power=float(raw.buying_power or 0),
            extra={
                "portfolio_value": float(raw.portfolio_value or 0),
                "daytrade_count": float(raw.daytrade_count or 0),
            },
        )

    def positions(self) -> dict[str, Position]:
        out = {}
        for p in self._policy.call("get positions", self._client.get_all_positions):
            qty = abs(int(float(p.qty))) * (-1 if _value(p.side) == "short" else 1)
            if qty:
                avg = float(p.avg_entry_price)
                out[p.symbol] = Position(p.symbol, qty, avg, _num(p.current_price) or avg)
        return out

    def open_orders(self) -> list[Order]:
        """Open entries plus live protective legs (a leg *held* until its entry fills is not open)."""
        from alpaca.trading.enums import QueryOrderStatus
        from alpaca.trading.requests import GetOrdersRequest

        query = GetOrdersRequest(status=QueryOrderStatus.OPEN, nested=True, limit=500)
        raws = self._policy.call("get open orders", lambda: self._client.get_orders(query))
        return [o for o in self._flatten(raws) if o.status.is_open]

    def get_order(self, client_order_id: str) -> Order | None:
        raw = self._lookup(client_order_id)
        if raw is not None:
            return map_order(raw)
        if client_order_id.endswith(STOP_SUFFIX):  # a protective leg: through its entry, or by its id
            parent_cid = client_order_id[: -len(STOP_SUFFIX)]
            parent = self._lookup(parent_cid)
            for leg in (parent.legs or []) if parent is not None else []:
                self._legs[str(leg.id)] = client_order_id
                return map_order(leg, parent_cid=parent_cid)
            for leg_id in [k for k, v in self._legs.items() if v == client_order_id]:
                raw = self._by_id(leg_id)
                if raw is not None:
                    return map_order(raw, parent_cid=parent_cid)
        return None

    def fills_since(self, after: datetime) -> list[Fill]:
        """Fills of orders completed after ``after``, from order polling (oldest first).

        Looks at the 500 most recently closed orders (and their legs); an order partly filled and
        then cancelled counts with its filled qty at ``updated_at``. Alpaca reports no commission
        on equities, so commission is 0.
        """
        from alpaca.trading.enums import QueryOrderStatus
        from alpaca.trading.requests import GetOrdersRequest

        query = GetOrdersRequest(status=QueryOrderStatus.CLOSED, nested=True, limit=500)
        raws = self._policy.call("get closed orders", lambda: self._client.get_orders(query))
        fills = []
        for raw, order in self._pairs(raws):
            ts = raw.filled_at or raw.updated_at
            if order.filled_qty > 0 and order.filled_avg_price is not None and ts > after:
                fills.append(
                    Fill(
                        order.client_order_id,
                        order.symbol,
                        order.request.side,
                        order.filled_qty,
                        order.filled_avg_price,
                        0.0,
                        ts,
                    )
                )
        return sorted(fills, key=lambda f: f.ts)

    def clock(self) -> Any:
        """Alpaca's market clock (timestamp, is_open, next_open, next_close)."""
        return self._policy.call("get clock", self._client.get_clock)

    def calendar(self, start: date, end: date) -> list[Any]:
        """Trading days in [start, end] with their open and close times."""
        from alpaca.trading.requests import GetCalendarRequest

        query = GetCalendarRequest(start=start, end=end)
        return self._policy.call("get calendar", lambda: self._client.get_calendar(query))

    # ---- orders ----------------------------------------------------------------------------

    def submit(self, request: OrderRequest) -> Order:
        cid = request.client_order_id
        if cid in self._sent:
            existing = self.get_order(cid)
            if existing is not None:
                return existing
        problem = _refusal(request)
        if problem:
            return Order(request, datetime.now(UTC), OrderStatus.REJECTED, reason=problem)
        payload = _alpaca_request(request)
        try:
            raw = self._policy.submit(
                f"submit {cid}", lambda: self._client.submit_order(payload), lambda: self._lookup(cid)
            )
        except AlpacaRefused as exc:
            log.warning("alpaca_order_rejected", client_order_id=cid, status=exc.status, reason=exc.message)
            return Order(request, datetime.now(UTC), OrderStatus.REJECTED, reason=exc.message)
        self._sent.add(cid)
        order = map_order(raw)
        if order.leg_order_id:
            self._legs[order.leg_order_id] = f"{cid}{STOP_SUFFIX}"
        log.info(
            "alpaca_order_submitted",
            client_order_id=cid,
            status=str(order.status),
            broker_order_id=order.broker_order_id,
        )
        return order

    def cancel(self, client_order_id: str) -> Order | None:
        """Cancel one open order (a protective leg too) and wait until Alpaca confirms it is no
        longer open; returns its state then (CANCELED, or FILLED when it filled first; still open
        when the confirmation did not come within ``CANCEL_WAIT_SECONDS``). None: unknown order."""
        order = self.get_order(client_order_id)
        if order is None or not order.status.is_open:
            return order
        try:
            self._policy.call(
                f"cancel {client_order_id}", lambda: self._client.cancel_order_by_id(order.broker_order_id)
            )
        except AlpacaRefused as exc:  # 422 "not cancelable": it filled or was cancelled meanwhile
            log.info(
                "alpaca_cancel_refused",
                client_order_id=client_order_id,
                status=exc.status,
                reason=exc.message,
            )
        deadline = time.monotonic() + CANCEL_WAIT_SECONDS
        while True:
            # one GET by Alpaca's id (a leg has no client id of ours to look up by)
            raw = self._policy.call(
                f"get order {client_order_id}", lambda: self._client.get_order_by_id(order.broker_order_id)
            )
            order.status = _STATUS.get(_value(raw.status), OrderStatus.NEW)
            order.filled_qty, order.filled_avg_price = (
                int(float(raw.filled_qty or 0)),
                _num(raw.filled_avg_price),
            )
            if not order.status.is_open or time.monotonic() >= deadline:
                if order.status.is_open:
                    log.error(
                        "alpaca_cancel_unconfirmed",
                        client_order_id=client_order_id,
                        seconds=CANCEL_WAIT_SECONDS,
                    )
                return order
            self._pause(_POLL_SECONDS)

    def cancel_all(self) -> list[Order]:
        """Cancel every open order (HTTP 207: one status per order) and wait until Alpaca confirms
        (``pending_cancel`` is still open); return those confirmed cancelled."""
        before = {o.broker_order_id: o for o in self.open_orders()}
        answers = self._policy.call("cancel all orders", self._client.cancel_orders)
        asked = set()
        for answer in answers:
            order = before.get(str(answer.id))
            if order is not None and 200 <= answer.status < 300:
                asked.add(order.broker_order_id)
            elif order is not None:
                log.error("alpaca_cancel_failed", client_order_id=order.client_order_id, status=answer.status)
        still_open = self._await_closed(asked)
        cancelled = []
        for broker_id in asked - still_open:
            order = before[broker_id]
            order.status, order.reason = OrderStatus.CANCELED, "canceled by cancel_all"
            cancelled.append(order)
        for broker_id in still_open:
            log.error(
                "alpaca_cancel_unconfirmed",
                client_order_id=before[broker_id].client_order_id,
                seconds=CANCEL_WAIT_SECONDS,
            )
        return cancelled

    def close_all(self) -> list[Order]:
        """Cancel every order and close every position: ``DELETE /v2/positions?cancel_orders=true``
        (207), then, for each symbol Alpaca refused (its shares still held by cancels in flight),
        wait for the cancels and close that symbol again, until flat or ``FLATTEN_SECONDS``.

        A retried DELETE is safe: the second one cancels the first one's close orders and sends
        new ones, so one close order per symbol stays live. Returns the close orders sent.
        """
        from alpaca.trading.models import Order as RawOrder

        deadline = time.monotonic() + FLATTEN_SECONDS
        answers = self._policy.call(
            "close all positions", lambda: self._client.close_all_positions(cancel_orders=True)
        )
        orders, refused = [], {}
        while True:
            for answer in answers:
                if isinstance(answer.body, RawOrder) or (answer.body is None and 200 <= answer.status < 300):
                    if answer.body is not None:
                        orders.append(map_order(answer.body))
                    refused.pop(answer.symbol, None)  # closing, or flat already
                else:
                    refused[answer.symbol] = (answer.status, getattr(answer.body, "message", ""))
            if not refused:
                return orders
            if time.monotonic() >= deadline:
                for symbol, (status, reason) in refused.items():
                    log.error(
                        "alpaca_close_failed",
                        symbol=symbol,
                        status=status,
                        reason=reason,
                        seconds=FLATTEN_SECONDS,
                    )
                return orders
            self._pause(_POLL_SECONDS * 2)  # let the cancels in flight settle
            answers = [self._close_one(symbol) for symbol in list(refused)]

    # ---- helpers ---------------------------------------------------------------------------

    def _close_one(self, symbol: str) -> Any:
        """One symbol's close, answered like an entry of the 207 (symbol, status, body)."""
        from types import SimpleNamespace

        try:
            raw = self._policy.call(f"close {symbol}", lambda: self._client.close_position(symbol))
            return SimpleNamespace(symbol=symbol, status=200, body=raw)
        except AlpacaRefused as exc:
            if exc.status == 404:  # nothing left to close: flat already
                return SimpleNamespace(symbol=symbol, status=200, body=None)
            return SimpleNamespace(
                symbol=symbol, status=exc.status, body=SimpleNamespace(message=exc.message)
            )

    def _await_closed(self, broker_ids: set[str]) -> set[str]:
        """Wait until none of ``broker_ids`` is open (or the cancel wait ends); returns those still open."""
        deadline = time.monotonic() + CANCEL_WAIT_SECONDS
        while broker_ids:
            open_ids = {o.broker_order_id for o in self.open_orders()} & broker_ids
            if not open_ids or time.monotonic() >= deadline:
                return open_ids
            self._pause(_POLL_SECONDS)
        return set()

    def _lookup(self, client_order_id: str) -> Any | None:
        """The raw Alpaca order with this client id, or None when Alpaca does not know it."""
        return self._found(
            f"get order {client_order_id}", lambda: self._client.get_order_by_client_id(client_order_id)
        )

    def _by_id(self, broker_order_id: str) -> Any | None:
        """The raw Alpaca order with this broker id, or None when Alpaca does not know it."""
        return self._found(
            f"get order {broker_order_id}", lambda: self._client.get_order_by_id(broker_order_id)
        )

    def _found(self, what: str, call: Callable[[], Any]) -> Any | None:
        """``call``'s answer through the retry policy; None for Alpaca's 404."""
        try:
            return self._policy.call(what, call)
        except AlpacaRefused as exc:
            if exc.status == 404:
                return None
            raise

    def _pairs(self, raws: list[Any]) -> list[tuple[Any, Order]]:
        """Each raw order and its legs, as ours; a leg listed on its own (un-nested) is known by its id."""
        pairs = []
        for raw in raws:
            ours = self._legs.get(str(raw.id))
            pairs.append((raw, map_order(raw, parent_cid=ours.removesuffix(STOP_SUFFIX) if ours else None)))
            for leg in raw.legs or []:
                self._legs[str(leg.id)] = f"{raw.client_order_id}{STOP_SUFFIX}"
                pairs.append((leg, map_order(leg, parent_cid=raw.client_order_id)))
        return pairs

    def _flatten(self, raws: list[Any]) -> list[Order]:
        return [order for raw, order in self._pairs(raws) if _value(raw.status) != "held"]


def _refusal(request: OrderRequest) -> str:
    """Refusals decided without a round trip (Alpaca would answer 422 for these)."""
    if request.protective_stop is not None and request.type is OrderType.STOP:
        return "Alpaca allows a protective stop (OTO) only on market or limit entries"
    return malformed_reason(request)


def _alpaca_request(request: OrderRequest) -> Any:
    from alpaca.trading.enums import OrderClass, OrderSide, TimeInForce
    from alpaca.trading.requests import (
        LimitOrderRequest,
        MarketOrderRequest,
        StopLossRequest,
        StopOrderRequest,
    )

    common: dict[str, Any] = dict(
        symbol=request.symbol,
        qty=request.qty,
        side=OrderSide(str(request.side)),
        client_order_id=request.client_order_id,
    )
    if request.protective_stop is not None:
        common.update(
            order_class=OrderClass.OTO, stop_loss=StopLossRequest(stop_price=request.protective_stop)
        )
    if request.type is OrderType.MARKET:
        # GTC with a protective stop: the leg inherits it and must outlive the session
        tif = TimeInForce.GTC if request.protective_stop is not None else TimeInForce.DAY
        return MarketOrderRequest(time_in_force=tif, **common)
    if request.type is OrderType.LIMIT:
        return LimitOrderRequest(time_in_force=TimeInForce.GTC, limit_price=request.limit_price, **common)
    return StopOrderRequest(time_in_force=TimeInForce.GTC, stop_price=request.stop_price, **common)
