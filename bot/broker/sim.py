"""``SimBroker``: a cash account that fills orders against OHLC bars.

Used by every simulation and by the dry run. Pure Python, cheap per bar. The caller submits orders
after a bar closes and then hands the next bar(s) to ``on_bars``; every order open at that moment
may fill on that bar.

| order | fills at (raw price, before slippage) |
|---|---|
| market | the bar's open |
| limit buy L | the open if open <= L, else L if low <= L |
| limit sell L | the open if open >= L, else L if high >= L |
| stop buy S | the open if open >= S (a gap through the stop), else S if high >= S |
| stop sell S | the open if open <= S (a gap through the stop), else S if low <= S |

- Slippage (``slippage_bps``, always adverse) applies to market and stop fills, never to limits.
- Commission = qty * ``commission_per_share`` + notional * ``commission_pct`` (a fraction:
  0.001 is 0.1%), at least ``min_commission``. It is charged to cash and counted in
  ``fees_paid``; realised PnL is before commissions.
- No partial fills and no volume limit: an order fills completely or is rejected.
- Order of fills in one ``on_bars`` call: all SELL-side fills (every symbol) before BUY-side
  fills, so cash freed by sells pays for buys on the same bar; within a side, fills at the open
  before intrabar fills, then submission order.
- A protective stop exists from its entry fill on: on the rest of that bar it is checked as if the
  bar opened at the entry price (below a long entry it fills only if the low reaches it, at the
  stop). It never opens or flips a position: it fills for at most the position it protects, and
  it is cancelled when that position goes flat or flips.

Held shares, as at Alpaca: an open sell (a protective stop included) holds its shares, and a sell
beyond what the open sells leave is refused at submit (``insufficient qty available for order``).
Wash trades, as at Alpaca: an order while an order of the other side of the same symbol is open
(a protective stop included) is refused (``potential wash trade detected. use complex orders``).
A stop sell whose id ends in ``-stop`` is protective (it never opens a short). ``cancel`` is
immediate.

Buying power: cash, no margin. With ``allow_short``, short-sale proceeds go to cash but are held as
collateral: buying power = cash - market value of shorts, and opening a short needs its notional
in buying power (no borrow fee); a buy that only covers a short is never refused. The check at
submit prices the order as if the next bar traded at the last known price and counts the expected
proceeds of open sells of longs (so a rotation submitted at one close fills at the next open);
the check at fill time is the one that binds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType

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
from bot.broker.sim_trigger import trigger

#: (open, high, low, close, volume)
Bar = tuple[float, float, float, float, float]

_EPS = 1e-9  # float slack for "need <= have" so exact-cash orders are not refused by rounding
WASH_TRADE = "potential wash trade detected. use complex orders"  # Alpaca's words (a 422 there)


class SimBroker(Broker):
    """The simulated broker. See the module docstring for the fill and buying-power model."""

    def __init__(
        self,
        *,
        initial_cash: float,
        symbols: Iterable[str],
        slippage_bps: float = 0.0,
        commission_per_share: float = 0.0,
        commission_pct: float = 0.0,
        min_commission: float = 0.0,
        allow_short: bool = False,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        amounts = dict(
            initial_cash=initial_cash,
            slippage_bps=slippage_bps,
            commission_per_share=commission_per_share,
            commission_pct=commission_pct,
            min_commission=min_commission,
        )
        for name, value in amounts.items():
            if not value >= 0:  # also catches NaN
                raise ValueError(f"SimBroker: {name} must be >= 0, got {value!r}")
        self._symbols = frozenset(symbols)
        self._slip = slippage_bps / 10_000
        self._per_share = commission_per_share
        self._pct = commission_pct
        self._min_commission = min_commission
        self._allow_short = allow_short
        self._clock = clock
        self._cash = float(initial_cash)
        self._fees = 0.0
        self._realized = 0.0
        self._qty: dict[str, int] = {}
        self._avg: dict[str, float] = {}
        self._symbol_realized: dict[str, float] = {}
        self._last: dict[str, float] = {}
        self._orders: dict[str, Order] = {}
        self._order_list: list[Order] = []  # the same orders, in the order they became known
        self._open: dict[str, Order] = {}  # insertion order = submission order
        self._fills: list[Fill] = []
        self._last_ts: datetime | None = None
        self._seq = 0

    # ---- reading state -------------------------------------------------------------------

    @property
    def fills(self) -> tuple[Fill, ...]:
        """Every fill so far, oldest first (a copy)."""
        return tuple(self._fills)

    @property
    def orders(self) -> Mapping[str, Order]:
        """Every order ever submitted or attached, by client_order_id (a read-only live view)."""
        return MappingProxyType(self._orders)

    def account(self) -> Account:
        # one pass for the marked value and the shorts (a simulation reads this every step)
        cash, last = self._cash, self._last
        value = shorts = 0.0
        for symbol, qty in self._qty.items():
            if qty:
                worth = qty * last[symbol]
                value += worth
                if qty < 0:
                    shorts -= worth
        return Account(cash, cash + value, max(cash - shorts, 0.0), self._fees, self._realized)

    @property
    def order_count(self) -> int:
        """How many orders have become known so far (``orders_since`` takes it)."""
        return len(self._order_list)

    def orders_since(self, known: int) -> list[Order]:
        """The orders that became known after the first ``known`` (an ``order_count`` read earlier)."""
        return self._order_list[known:]

    def has_open_orders(self) -> bool:
        """True while any order is open (a bar can change nothing at the broker without one)."""
        return bool(self._open)

    def positions(self) -> dict[str, Position]:
        """Copies of the open positions; ``realized_pnl`` is the symbol's total since the start."""
        realized = self._symbol_realized
        return {
            s: Position(s, q, self._avg[s], self._last[s], realized.get(s, 0.0))
            for s, q in self._qty.items()
            if q
        }

    def held_quantities(self) -> dict[str, int]:
        """The open positions' quantities by symbol, in ``positions``' order, without their
        records (a replay's quiet steps ask for nothing else)."""
        return {s: q for s, q in self._qty.items() if q}

    @property
    def cash(self) -> float:
        """``account().cash`` without the account."""
        return self._cash

    def open_orders(self) -> list[Order]:
        return list(self._open.values())

    def get_order(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def mark(self, symbol: str, price: float) -> None:
        """Set the last price of ``symbol`` (used for equity and for checks at submit)."""
        if symbol not in self._symbols:
            raise ValueError(f"unknown symbol {symbol}")
        if not price > 0:
            raise ValueError(f"price must be > 0, got {price!r}")
        self._last[symbol] = price

    def restore(self, fills: Iterable[Fill], orders: Iterable[Order], marks: Mapping[str, float]) -> None:
        """Rebuild a restarted dry run's account from its journal, on a fresh broker: replay the
        fills (cash, positions, fees, realised PnL), know every order again (so a decision made
        twice around a crash finds its id and sends nothing), re-open those still open (a
        journaled ``pending`` order becomes ``new``: the restart sends it, as reconciliation
        would) and mark the positions at ``marks``."""
        if self._fills or self._orders:
            raise ValueError("restore needs a fresh SimBroker")
        for fill in fills:
            self._fills.append(fill)
            notional = fill.qty * fill.price
            self._cash += -notional - fill.commission if fill.side is Side.BUY else notional - fill.commission
            self._fees += fill.commission
            self._apply(fill.symbol, fill.signed_qty, fill.price)
            self._last[fill.symbol] = fill.price
        for order in orders:
            self._orders[order.client_order_id] = order
            self._order_list.append(order)
            if order.status.is_open:
                order.status = OrderStatus.NEW
                self._open[order.client_order_id] = order
        for symbol, price in marks.items():
            if symbol in self._symbols and price > 0:
                self._last[symbol] = price

    # ---- orders ----------------------------------------------------------------------------

    def submit(self, request: OrderRequest) -> Order:
        """Accept (status NEW) or reject (status REJECTED with a reason); never raises."""
        existing = self._orders.get(request.client_order_id)
        if existing is not None:
            return existing
        protective = (
            request.type is OrderType.STOP
            and request.side is Side.SELL
            and is_protective_id(request.client_order_id)
        )
        order = self._new_order(request, self._now(), protective=protective)
        reason = self._refusal(request)
        if reason:
            order.status, order.reason = OrderStatus.REJECTED, reason
        else:
            self._open[request.client_order_id] = order
        return order

    def cancel(self, client_order_id: str) -> Order | None:
        order = self._orders.get(client_order_id)
        if order is not None and client_order_id in self._open:
            self._cancel(order, "canceled")
        return order

    def cancel_all(self) -> list[Order]:
        cancelled = list(self._open.values())
        for order in cancelled:
            self._cancel(order, "canceled by cancel_all")
        return cancelled

    def close_all(self) -> list[Order]:
        """Cancel open orders, then submit market orders that flatten every position.

        Ids are ``close-{symbol}-{time:%Y%m%dT%H%M%S}``: a second call at the same time keeps and
        returns the same close orders instead of cancelling them.
        """
        stamp = f"{self._now():%Y%m%dT%H%M%S}"
        targets = {s: q for s, q in sorted(self._qty.items()) if q}
        ids = {f"close-{s}-{stamp}" for s in targets}
        for order in list(self._open.values()):
            if order.client_order_id not in ids:
                self._cancel(order, "canceled by close_all")
        sides = {s: Side.SELL if q > 0 else Side.BUY for s, q in targets.items()}
        return [
            self.submit(OrderRequest(f"close-{s}-{stamp}", s, sides[s], abs(q))) for s, q in targets.items()
        ]

    # ---- bars ------------------------------------------------------------------------------

    def on_bars(self, ts: datetime, bars: Mapping[str, Bar]) -> list[Fill]:
        """Fill what the bars starting at ``ts`` allow, then mark each symbol at its close.

        ``bars`` maps symbol -> (open, high, low, close, volume); unknown symbols are ignored.
        Raises ValueError for a naive ``ts`` or one earlier than the previous call's (a caller bug).
        """
        if ts.tzinfo is None:
            raise ValueError(f"on_bars needs a tz-aware UTC time, got {ts!r}")
        if self._last_ts is not None and ts < self._last_ts:
            raise ValueError(f"on_bars went back in time: {ts} < {self._last_ts}")
        self._last_ts = ts
        fills: list[Fill] = []
        if self._open:
            fresh: dict[str, float] = {}  # protective stops born in this bar -> their entry price
            self._fill_side(Side.SELL, ts, bars, fills, fresh, only_fresh=False)
            self._fill_side(Side.BUY, ts, bars, fills, fresh, only_fresh=False)
            if fresh:  # stops attached to longs bought just now get the rest of this bar
                self._fill_side(Side.SELL, ts, bars, fills, fresh, only_fresh=True)
        for symbol, bar in bars.items():
            if symbol in self._symbols:
                self._last[symbol] = bar[3]
        return fills

    def pass_quiet(self, ts: datetime, marks: Mapping[str, float]) -> None:
        """What ``on_bars`` leaves after bars that fill nothing, the last of them starting at
        ``ts``: the clock moved on and each symbol marked at its latest close (a replay's quiet
        steps, ``bot.engine.quiet``, which check that no open order would fill)."""
        if self._last_ts is not None and ts < self._last_ts:
            raise ValueError(f"pass_quiet went back in time: {ts} < {self._last_ts}")
        self._last_ts = ts
        for symbol, price in marks.items():
            if symbol in self._symbols:
                self._last[symbol] = price

    def _fill_side(
        self,
        side: Side,
        ts: datetime,
        bars: Mapping[str, Bar],
        fills: list[Fill],
        fresh: dict[str, float],
        *,
        only_fresh: bool,
    ) -> None:
        """Fill the open ``side`` orders the bars trigger (only_fresh: those born this bar)."""
        hits: list[tuple[bool, Order, float]] = []
        for order in self._open.values():
            request = order.request
            bar = bars.get(request.symbol)
            if request.side is not side or bar is None:
                continue
            start = fresh.get(request.client_order_id)
            if only_fresh and start is None:
                continue
            hit = trigger(request, bar[0] if start is None else start, bar[1], bar[2])
            if hit is not None:
                hits.append((not hit[1], order, hit[0]))
        hits.sort(key=lambda h: h[0])  # stable: open fills first, then submission order
        for _, order, raw in hits:
            if order.status is OrderStatus.NEW:  # an earlier fill may have cancelled it
                fill = self._execute(order, raw, ts, fresh)
                if fill is not None:
                    fills.append(fill)

    def _execute(self, order: Order, raw: float, ts: datetime, fresh: dict[str, float]) -> Fill | None:
        """Fill ``order`` at raw price ``raw`` or reject it (fill-time checks); attach its stop."""
        request = order.request
        symbol, side = request.symbol, request.side
        held = self._qty.get(symbol, 0)
        qty = request.qty
        if order.protective:
            closable = held if side is Side.SELL else -held
            if closable <= 0:
                self._cancel(order, "position closed")
                return None
            qty = min(qty, closable)
        price = raw if request.type is OrderType.LIMIT else self._slipped(raw, side)
        if side is Side.SELL and not self._allow_short and qty > held:
            reason = f"shorting is disabled (sell {qty}, hold {max(held, 0)})"
            self._cancel(order, reason, OrderStatus.REJECTED)
            return None
        shortfall = self._shortfall(side, symbol, qty, price, pending=0.0)
        if shortfall:
            reason = f"insufficient buying power at fill: {shortfall}"
            self._cancel(order, reason, OrderStatus.REJECTED)
            return None

        commission = self._commission(qty, price)
        fill = Fill(request.client_order_id, symbol, side, qty, price, commission, ts)
        self._fills.append(fill)
        notional = qty * price
        self._cash += -notional - commission if side is Side.BUY else notional - commission
        self._fees += commission
        order.status, order.filled_qty, order.filled_avg_price = OrderStatus.FILLED, qty, price
        del self._open[request.client_order_id]
        self._last.setdefault(symbol, raw)  # first trade of a symbol with no bar closed yet

        old, new = held, self._apply(symbol, fill.signed_qty, price)
        if (old > 0 and new <= 0) or (old < 0 and new >= 0):
            for stale in [o for o in self._open.values() if o.protective and o.symbol == symbol]:
                self._cancel(stale, "position closed")
        stop = request.protective_stop
        if stop is not None and not order.protective and new * fill.signed_qty > 0:
            self._attach_stop(order, min(qty, abs(new)), stop, ts)
            fresh[f"{request.client_order_id}{PROTECTIVE_SUFFIX}"] = raw
        return fill

    def _apply(self, symbol: str, signed_qty: int, price: float) -> int:
        """Update the position for a fill; return the new quantity."""
        old = self._qty.get(symbol, 0)
        new = old + signed_qty
        avg = self._avg.get(symbol, 0.0)
        if old == 0 or (old > 0) == (signed_qty > 0):
            avg = (abs(old) * avg + abs(signed_qty) * price) / abs(new)
        else:
            closed = min(abs(signed_qty), abs(old))
            pnl = closed * (price - avg) * (1 if old > 0 else -1)
            self._realized += pnl
            self._symbol_realized[symbol] = self._symbol_realized.get(symbol, 0.0) + pnl
            if new == 0:
                avg = 0.0
            elif (new > 0) != (old > 0):
                avg = price  # crossed through zero: what is left was opened at this fill
        self._qty[symbol], self._avg[symbol] = new, avg
        return new

    def _attach_stop(self, parent: Order, qty: int, stop: float, ts: datetime) -> None:
        side = Side.SELL if parent.request.side is Side.BUY else Side.BUY
        request = OrderRequest(
            f"{parent.client_order_id}{PROTECTIVE_SUFFIX}",
            parent.symbol,
            side,
            qty,
            OrderType.STOP,
            stop_price=stop,
        )
        # born at the entry fill, so submitted_at is the bar time, not the clock
        if request.client_order_id not in self._orders:  # an id is never reused
            self._open[request.client_order_id] = self._new_order(request, ts, protective=True)

    # ---- helpers ---------------------------------------------------------------------------

    def _now(self) -> datetime:
        if self._clock is not None:
            return self._clock()
        return self._last_ts if self._last_ts is not None else datetime.now(UTC)

    def _new_order(self, request: OrderRequest, at: datetime, *, protective: bool) -> Order:
        self._seq += 1
        order = Order(request, at, broker_order_id=f"sim-{self._seq}", protective=protective)
        self._orders[request.client_order_id] = order
        self._order_list.append(order)
        return order

    def _cancel(self, order: Order, reason: str, status: OrderStatus = OrderStatus.CANCELED) -> None:
        order.status, order.reason = status, reason
        self._open.pop(order.client_order_id, None)

    def _slipped(self, price: float, side: Side) -> float:
        return price * (1 + self._slip) if side is Side.BUY else price * (1 - self._slip)

    def _commission(self, qty: int, price: float) -> float:
        return max(qty * self._per_share + qty * price * self._pct, self._min_commission)

    def _buying_power(self) -> float:
        shorts = sum(-q * self._last[s] for s, q in self._qty.items() if q < 0)
        return max(self._cash - shorts, 0.0)

    def _estimate(self, request: OrderRequest, last: float) -> float:
        """The fill price if the next bar traded flat at ``last``."""
        buy = request.side is Side.BUY
        if request.type is OrderType.LIMIT:
            assert request.limit_price is not None
            return min(last, request.limit_price) if buy else max(last, request.limit_price)
        if request.type is OrderType.STOP:
            assert request.stop_price is not None
            last = max(last, request.stop_price) if buy else min(last, request.stop_price)
        return self._slipped(last, request.side)

    def _shortfall(self, side: Side, symbol: str, qty: int, price: float, *, pending: float) -> str:
        """'need X, have Y' when the account cannot pay for this trade, else ''."""
        held = self._qty.get(symbol, 0)
        if side is Side.BUY:
            if qty <= -held:
                return ""  # a pure cover only reduces risk: never refused (cash may go < 0)
            covered = min(qty, max(-held, 0))  # covering a short frees its collateral
            need = qty * price + self._commission(qty, price)
            have = self._buying_power() + covered * self._last.get(symbol, price) + pending
        else:
            opening = qty - max(held, 0)
            if opening <= 0:
                return ""
            need, have = opening * price, self._buying_power()
        return f"need {need:.2f}, have {have:.2f}" if need > have + _EPS else ""

    def _open_sells(self, symbol: str) -> int:
        return sum(
            o.request.qty - o.filled_qty
            for o in self._open.values()
            if o.symbol == symbol and o.request.side is Side.SELL
        )

    def _pending_proceeds(self) -> float:
        """Expected cash from open, non-protective sells of long positions (at last prices)."""
        total = 0.0
        left = {s: q for s, q in self._qty.items() if q > 0}
        for order in self._open.values():
            request = order.request
            last = self._last.get(request.symbol)
            qty = min(request.qty, left.get(request.symbol, 0))
            if request.side is Side.SELL and not order.protective and qty > 0 and last is not None:
                left[request.symbol] -= qty
                price = self._estimate(request, last)
                total += qty * price - self._commission(qty, price)
        return total

    def _refusal(self, request: OrderRequest) -> str:
        """Why ``request`` is refused at submit, or '' to accept it."""
        if request.symbol not in self._symbols:
            return f"unknown symbol {request.symbol}"
        malformed = malformed_reason(request)
        if malformed:
            return malformed
        held = self._qty.get(request.symbol, 0)
        if request.side is Side.SELL and held > 0:
            # Alpaca's held quantity: shares under an open sell (a stop leg too) cannot be sold again
            available = held - self._open_sells(request.symbol)
            if request.qty > available and (not self._allow_short or available < held):
                return f"insufficient qty available for order (requested: {request.qty}, available: {max(available, 0)})"
        if request.side is Side.SELL and not self._allow_short and request.qty > held:
            return f"shorting is disabled (sell {request.qty}, hold {max(held, 0)})"
        if any(
            o.symbol == request.symbol and o.request.side is not request.side for o in self._open.values()
        ):
            # Alpaca's wash-trade protection, OTO entries included (the fake's stricter reading)
            return WASH_TRADE
        last = self._last.get(request.symbol)
        if last is None:
            return ""  # no price yet: the check at fill decides
        pending = self._pending_proceeds() if request.side is Side.BUY else 0.0
        price = self._estimate(request, last)
        shortfall = self._shortfall(request.side, request.symbol, request.qty, price, pending=pending)
        return f"insufficient buying power: {shortfall}" if shortfall else ""
