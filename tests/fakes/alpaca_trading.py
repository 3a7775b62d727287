"""A stateful fake of Alpaca's paper *trading* API, spoken to by the real alpaca-py client.

Builds on ``alpaca_news_server``: ``TradingHandler`` adds routes with path parameters and fault
injection; ``TradingFakeServer`` holds an account (cash, no margin), positions and orders.

Fill model (documented because tests depend on it):

- ``set_price(symbol, p)`` is a trade at p: every open order of that symbol that p reaches fills
  at p (market: always; limit buy: p <= limit; stop sell: p <= stop; and mirrored). ``tick()``
  re-runs the matching at the current prices.
- With ``auto_fill`` (the default) a market order fills right after the POST is answered, when the
  symbol has a price: the POST answer says ``accepted``, the next read says ``filled`` (like paper
  trading in market hours). With ``auto_fill = False`` it waits for ``tick``/``set_price``.
- OTO (``order_class=oto`` with ``stop_loss``): the stop leg is ``held`` until the entry fills,
  then ``new`` for the filled qty, and triggers on a *later* price.
- Refusals: duplicate client_order_id -> 422 code 40010001; a buy beyond buying power (cash minus
  open buys) -> 403 code 40310000 "insufficient buying power".

Rules taken from Alpaca's documentation and its users' reports. Where a source is unsure, the
fake takes the stricter reading; each switch (an attribute) turns that reading off for a test:

| rule | source | switch |
|---|---|---|
| an OTO/bracket leg takes its parent's ``time_in_force``; ``expire_day_orders()`` (the session's close) expires every open DAY order, legs included | alpacahq/Alpaca-API#283 and alpaca-trade-api-python#357 (the stop leg of a DAY bracket expires at the close), as cited in this project's issue 12 | ``legs_inherit_tif`` |
| open sells (stop legs included, ``pending_cancel`` too) hold their shares: a sell beyond ``qty - held`` -> 403 code 40310000 ``insufficient qty available for order (requested: N, available: M)`` | alpaca-trade-api-csharp#247 (the error, gone once the bot waited for its cancels); alpaca-trade-api-python#322 ("for an open position of X you can add a closing order for X once") | always |
| a buy while a sell of the same symbol is open (or the reverse) -> 422 code 42210000 ``potential wash trade detected. use complex orders``; also for a new OTO entry (unsure: the message suggests complex orders pass) | Petersoj/alpaca-java#145 (a user's 422 with that message; issue 12 quotes it as a 403) | ``wash_blocks_complex`` |
| a cancel is asynchronous: the order is ``pending_cancel`` (still open, still holding shares, still fillable) for ``cancel_delay`` s, then ``canceled`` | Alpaca's order statuses ("pending_cancel: the order is waiting to be canceled"; its stream docs add that most cancels never enter that state: so this is the stricter reading); alpaca-trade-api-csharp#247 | ``cancel_delay = 0`` |
| ``DELETE /v2/positions?cancel_orders=true`` answers 207, one entry per symbol; a symbol whose shares are still held by pending cancels gets its own 403 entry | alpaca-py's ``close_all_positions`` (a list of per-symbol ``ClosePositionResponse`` with status); the refusal follows from the two rules above | as above |
| a 429 carries ``X-RateLimit-Limit/Remaining/Reset`` (Reset: the Unix second the window refills), no ``Retry-After`` | alpacahq/alpaca-skills "alpaca-broker-rate-limits-resilience" | ``rate_limit_headers`` |
| a market order sent while the market is closed is accepted and waits for the next session | issue 12 (from Alpaca's order docs) | ``market_open`` |
| a paper account is a margin account with shorting enabled: a sell with no long position is accepted and opens a short when it fills | issue 12 (from Alpaca's paper-trading docs) | ``shorting_enabled`` |
| ``daytrade_count`` in the account is the broker's own count | the account object alpaca-py models (``TradeAccount.daytrade_count``) | ``daytrade_count`` |
| once an entry fills, its legs are no longer nested under it: ``GET /v2/orders?nested=true`` lists a live leg as an order of its own (its own uuid client id), and the entry's ``legs`` is empty | older user reports, as cited in issue 12 (unsure: Alpaca's docs show legs nested; ``probe-alpaca`` checks a real account) | ``legs_unnest_after_fill`` |
| paper fills are partial about 10 % of the time: every ``partial_fill_every``-th simple market order fills half its qty first (``partially_filled``, shares and cash moved), the rest at the next request | Alpaca's paper-trading docs ("partial fills ... randomly 10% of the time"), as cited in issue 12 | ``partial_fill_every = 0`` |

Faults: ``inject(method, path_prefix, kind, times=1, after=False)``, kind one of 429 (see the
rate-limit rule; ``Retry-After: retry_after`` when that switch is off), 500, 502, 504, "hang" (no answer for ``hang_seconds``, then the
connection drops), "reset" (connection closed, no answer), "malformed" (200 with invalid JSON).
``after=True`` first APPLIES the request, then fails the answer (e.g. a 504 after the order was
created). ``requests`` records (method, path, query) of every request; ``posts`` the POST bodies.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from fakes.alpaca_news_server import AlpacaFakeServer, AlpacaHandler, Query

OPEN = {"new", "accepted", "pending_new", "partially_filled", "held", "pending_cancel"}
ROUTES = [
    ("GET", r"/v2/account", "get_account"),
    ("GET", r"/v2/orders", "list_orders"),
    ("POST", r"/v2/orders", "post_order"),
    ("DELETE", r"/v2/orders", "cancel_orders"),
    ("GET", r"/v2/orders:by_client_order_id", "get_by_client_id"),
    ("GET", r"/v2/orders/(?P<id>[^/]+)", "get_order"),
    ("DELETE", r"/v2/orders/(?P<id>[^/]+)", "cancel_order"),
    ("GET", r"/v2/positions", "list_positions"),
    ("DELETE", r"/v2/positions", "close_positions"),
    ("DELETE", r"/v2/positions/(?P<symbol>[^/]+)", "close_position"),
    ("GET", r"/v2/clock", "get_clock"),
    ("GET", r"/v2/calendar", "get_calendar"),
]


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _err(status: int, code: int, message: str) -> tuple[int, Any]:
    return status, {"code": code, "message": message}


class TradingHandler(AlpacaHandler):
    server: TradingFakeServer

    def _dispatch(self, method: str) -> None:
        parts = self.path.split("?", 1)
        path, query = parts[0], {k: v[-1] for k, v in parse_qs(parts[1] if len(parts) > 1 else "").items()}
        state = self.server
        state.requests.append((method, path, query))
        state.request_times.append((method, path, time.time()))
        length = int(self.headers.get("Content-Length") or 0)
        self.body = json.loads(self.rfile.read(length) or b"null") if length else None
        if method == "POST":
            state.posts.append(self.body)
        try:
            if (self.headers.get("APCA-API-KEY-ID"), self.headers.get("APCA-API-SECRET-KEY")) != (
                state.key_id,
                state.secret_key,
            ):
                self.send_json(*_err(401, 40110000, "request is not authorized"))
                return
            with state.lock:
                state._request_no += 1
                state.settle_cancels()
            fault = state.take_fault(method, path)
            if fault is not None and not fault["after"]:
                self._fail(fault["kind"])
                return
            status, payload = self._route(method, path, query)
            if fault is not None:
                self._fail(fault["kind"])
            elif status == 204:
                self.send_response(204)
                self.end_headers()
            else:
                self.send_json(status, payload)
            with state.lock:
                state.after_answer()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left

    def _route(self, method: str, path: str, query: Query) -> tuple[int, Any]:
        for verb, pattern, name in ROUTES:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                with self.server.lock:
                    return getattr(self.server, name)(query, self.body, **match.groupdict())
        return _err(404, 40410000, "endpoint not found")

    def _fail(self, kind: int | str) -> None:
        if isinstance(kind, int):
            body = json.dumps({"code": kind * 100000, "message": f"injected {kind}"}).encode()
            self.send_response(kind)
            if kind == 429 and self.server.rate_limit_headers:
                reset = int(time.time()) + int(self.server.retry_after)
                self.server.rate_limit_resets.append((self.path.split("?", 1)[0], reset))
                for name, value in (("Limit", "200"), ("Remaining", "0"), ("Reset", str(reset))):
                    self.send_header(f"X-RateLimit-{name}", value)
            elif kind == 429:
                self.send_header("Retry-After", str(self.server.retry_after))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif kind == "malformed":
            body = b'{"id": "truncated'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif kind == "hang":
            self.server.stopping.wait(self.server.hang_seconds)
            self._reset()
        elif kind == "reset":
            self._reset()
        else:
            raise ValueError(f"unknown fault kind {kind!r}")

    def _reset(self) -> None:
        # SO_LINGER 0: close with a TCP RST, the way a dropped connection looks to the client
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


class TradingFakeServer(AlpacaFakeServer):
    """State of one fake paper account. All state changes happen under ``lock``."""

    def __init__(self, *, cash: float = 100_000.0, **kwargs: Any) -> None:
        super().__init__(TradingHandler, **kwargs)
        self.cash = cash
        self.prices: dict[str, float] = {}
        self.holdings: dict[str, tuple[int, float]] = {}  # symbol -> (qty, avg entry price)
        self.orders: list[dict[str, Any]] = []  # every order and leg, oldest first
        self.posts: list[Any] = []
        self.faults: list[dict[str, Any]] = []
        self.auto_fill = True
        self.market_open = True
        self.hang_seconds = 2.0
        self.retry_after = 1
        self._pending_fill = False
        self.request_times: list[tuple[str, str, float]] = []  # (method, path, Unix time)
        self.rate_limit_resets: list[tuple[str, int]] = []  # (path, Reset second) of every 429 sent
        # the stricter readings (see the module docstring); a test may switch one off
        self.legs_inherit_tif = True
        self.wash_blocks_complex = True
        self.cancel_delay = 0.3
        self.rate_limit_headers = True
        self.daytrade_count = 0
        self.shorting_enabled = True
        self.legs_unnest_after_fill = True
        self.partial_fill_every = 10
        self._market_orders = 0
        self._request_no = 0

    # ---- test controls -------------------------------------------------------------------------

    def inject(
        self, method: str, path_prefix: str, kind: int | str, times: int = 1, *, after: bool = False
    ) -> None:
        with self.lock:
            self.faults.append(dict(method=method, prefix=path_prefix, kind=kind, times=times, after=after))

    def take_fault(self, method: str, path: str) -> dict[str, Any] | None:
        with self.lock:
            for fault in self.faults:
                if fault["method"] == method and path.startswith(fault["prefix"]) and fault["times"] > 0:
                    fault["times"] -= 1
                    return fault
        return None

    def expire_day_orders(self) -> list[str]:
        """The regular session closed: every open DAY order (legs included) expires. Returns their ids."""
        with self.lock:
            expired = [o for o in self.orders if o["status"] in OPEN and o["time_in_force"] == "day"]
            for order in expired:
                order.update(status="expired", updated_at=_now(), expired_at=_now())
            return [o["id"] for o in expired]

    def settle_cancels(self, *, now: float | None = None) -> None:
        """Pending cancels whose delay has passed become ``canceled`` (run before every request)."""
        now = time.monotonic() if now is None else now
        for order in self.orders:
            if order["status"] == "pending_cancel" and order.get("_cancel_at", 0.0) <= now:
                order.update(status="canceled", updated_at=_now(), canceled_at=_now())

    def open_orders_of(self, symbol: str) -> list[dict[str, Any]]:
        with self.lock:
            return [o for o in self.orders if o["symbol"] == symbol and o["status"] in OPEN]

    def set_price(self, symbol: str, price: float) -> None:
        with self.lock:
            self.prices[symbol] = price
            self._match(symbol)

    def tick(self) -> None:
        with self.lock:
            for symbol in list(self.prices):
                self._match(symbol)

    def add_position(self, symbol: str, qty: int, avg_price: float) -> None:
        """A position opened outside the bot."""
        with self.lock:
            self.holdings[symbol] = (qty, avg_price)
            self.prices.setdefault(symbol, avg_price)

    def add_order(self, **fields: Any) -> dict[str, Any]:
        """An order placed outside the bot (e.g. in Alpaca's web UI); fields as in a POST body."""
        with self.lock:
            status, payload = self.post_order({}, {"time_in_force": "gtc", **fields})
            assert status == 200, payload
            return payload

    def add_outside_book(self) -> None:
        """AAPL at 100, 10 shares held at 95 and a resting limit buy ``resting-1``: what a user
        opened by hand, for the kill and reconciliation tests."""
        self.set_price("AAPL", 100.0)
        self.add_position("AAPL", 10, 95.0)
        self.add_order(
            client_order_id="resting-1", symbol="AAPL", qty="5", side="buy", type="limit", limit_price="50"
        )

    @property
    def key_env(self) -> dict[str, str]:
        """The environment that gives the bot this server's keys (and no others)."""
        from testkit import key_env

        return key_env(self.key_id, self.secret_key)

    def orders_with_client_id(self, client_order_id: str) -> list[dict[str, Any]]:
        return [o for o in self.orders if o["client_order_id"] == client_order_id]

    def after_answer(self) -> None:
        """Called after each answer: market orders fill now that the POST was answered, and a
        partial fill of an earlier request completes."""
        for order in [o for o in self.orders if o["status"] == "partially_filled"]:
            if order["_partial_at"] < self._request_no and order["symbol"] in self.prices:
                self._fill(order, self.prices[order["symbol"]])
        if self._pending_fill:
            self._pending_fill = False
            for symbol in list(self.prices):
                self._match(symbol, market_only=True)

    # ---- routes (called under lock) ------------------------------------------------------------

    def get_account(self, query: Query, body: Any) -> tuple[int, Any]:
        equity = self.cash + sum(q * self.prices.get(s, a) for s, (q, a) in self.holdings.items())
        cash, bp = f"{self.cash:.2f}", f"{self._buying_power():.2f}"
        return 200, {
            "id": "00000000-0000-4000-8000-000000000001",
            "account_number": "PA0000FAKE",
            "status": "ACTIVE",
            "crypto_status": "ACTIVE",
            "currency": "USD",
            "cash": cash,
            "buying_power": bp,
            "regt_buying_power": bp,
            "daytrading_buying_power": bp,
            "non_marginable_buying_power": bp,
            "equity": f"{equity:.2f}",
            "last_equity": f"{equity:.2f}",
            "portfolio_value": f"{equity:.2f}",
            "multiplier": "1",
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "trade_suspended_by_user": False,
            "shorting_enabled": self.shorting_enabled,
            "created_at": _now(),
            "long_market_value": f"{equity - self.cash:.2f}",
            "short_market_value": "0",
            "initial_margin": "0",
            "maintenance_margin": "0",
            "sma": "0",
            "daytrade_count": self.daytrade_count,
            "accrued_fees": "0",
        }

    def list_orders(self, query: Query, body: Any) -> tuple[int, Any]:
        wanted = query.get("status", "open")
        nested = query.get("nested") in ("true", "True")
        keep = lambda o: wanted == "all" or (o["status"] in OPEN) == (wanted == "open")  # noqa: E731
        out = []
        for o in reversed(self.orders):  # newest first, like Alpaca
            if nested and o["_parent"] and not o.get("_unnested"):
                continue
            family = [o, *self._legs(o)] if nested else [o]
            if any(keep(x) for x in family):
                out.append(self._json(o, legs=nested))
        return 200, out[: int(query.get("limit") or 50)]

    def post_order(self, query: Query, body: Any) -> tuple[int, Any]:
        cid = body.get("client_order_id") or str(uuid.uuid4())
        if self.orders_with_client_id(cid):
            return _err(422, 40010001, "client_order_id must be unique")
        symbol, side, kind = body["symbol"], body["side"], body.get("type", "market")
        qty = int(float(body.get("qty") or 0))
        limit, stop = _f(body.get("limit_price")), _f(body.get("stop_price"))
        if qty <= 0:
            return _err(422, 40010001, "qty must be > 0")
        if (kind == "limit" and not limit) or (kind == "stop" and not stop):
            return _err(422, 40010001, f"{kind} order needs a {kind}_price")
        last = self.prices.get(symbol)
        stop_loss = (body.get("stop_loss") or {}).get("stop_price")
        base = limit or last
        if stop_loss is not None and base is not None and side == "buy" and float(stop_loss) > base - 0.01:
            return _err(422, 40010001, "stop_loss.stop_price must be <= base_price - 0.01")
        if side == "buy" and (limit or last) and qty * (limit or last) > self._buying_power() + 1e-9:
            return _err(403, 40310000, "insufficient buying power")
        long_qty = max(self.holdings.get(symbol, (0, 0.0))[0], 0)
        if side == "sell" and (long_qty > 0 or not self.shorting_enabled):
            available = long_qty - self._open_qty(symbol, "sell")
            if qty > available:
                return _err(
                    403,
                    40310000,
                    f"insufficient qty available for order (requested: {qty}, available: {available})",
                )
        opposite = "sell" if side == "buy" else "buy"
        if self._open_qty(symbol, opposite) and (stop_loss is None or self.wash_blocks_complex):
            return _err(422, 42210000, "potential wash trade detected. use complex orders")
        tif = body.get("time_in_force", "day")
        order = self._new(
            cid, symbol, side, qty, kind, limit, stop, tif, "oto" if stop_loss is not None else "simple"
        )
        if stop_loss is not None:
            self._new(
                str(uuid.uuid4()),
                symbol,
                opposite,
                qty,
                "stop",
                None,
                float(stop_loss),
                tif if self.legs_inherit_tif else "gtc",
                "oto",
                status="held",
                parent=order["id"],
            )
        self._pending_fill = self.auto_fill and kind == "market" and self.market_open
        return 200, self._json(order, legs=True)

    def cancel_orders(self, query: Query, body: Any) -> tuple[int, Any]:
        out = []
        for o in self.orders:
            if o["status"] in OPEN - {"pending_cancel"} and not o["_parent"]:
                self._cancel(o)
                out.append({"id": o["id"], "status": 200, "body": None})
        for o in self.orders:  # a live leg whose parent is done (an OTO stop after its entry filled)
            if o["status"] in OPEN - {"pending_cancel"} and o["_parent"]:
                self._cancel(o)
                out.append({"id": o["id"], "status": 200, "body": None})
        return 207, out

    def get_by_client_id(self, query: Query, body: Any) -> tuple[int, Any]:
        found = self.orders_with_client_id(query.get("client_order_id", ""))
        if not found:
            return _err(404, 40410000, "order not found")
        return 200, self._json(found[0], legs=True)

    def get_order(self, query: Query, body: Any, id: str) -> tuple[int, Any]:
        found = [o for o in self.orders if o["id"] == id]
        return (200, self._json(found[0], legs=True)) if found else _err(404, 40410000, "order not found")

    def cancel_order(self, query: Query, body: Any, id: str) -> tuple[int, Any]:
        found = [o for o in self.orders if o["id"] == id and o["status"] in OPEN]
        if not found:
            return _err(422, 42210000, "order is not cancelable")
        if found[0]["status"] != "pending_cancel":
            self._cancel(found[0])
        return 204, None

    def _cancel(self, order: dict[str, Any]) -> None:
        """A cancel request: done at once with ``cancel_delay = 0``, else ``pending_cancel`` first."""
        if not self.cancel_delay:
            self._set(order, "canceled", canceled_at=_now())
            return
        order.update(
            status="pending_cancel", updated_at=_now(), _cancel_at=time.monotonic() + self.cancel_delay
        )
        for leg in self._legs(order):
            if leg["status"] in OPEN - {"pending_cancel"}:
                leg.update(status="pending_cancel", updated_at=_now(), _cancel_at=order["_cancel_at"])

    def list_positions(self, query: Query, body: Any) -> tuple[int, Any]:
        out = []
        for symbol, (qty, avg) in sorted(self.holdings.items()):
            price = self.prices.get(symbol, avg)
            out.append(
                {
                    "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)),
                    "symbol": symbol,
                    "exchange": "NASDAQ",
                    "asset_class": "us_equity",
                    "asset_marginable": True,
                    "avg_entry_price": f"{avg}",
                    "qty": str(qty),
                    "qty_available": str(qty),
                    "side": "long" if qty > 0 else "short",
                    "market_value": f"{qty * price:.2f}",
                    "cost_basis": f"{qty * avg:.2f}",
                    "unrealized_pl": f"{qty * (price - avg):.2f}",
                    "unrealized_plpc": "0",
                    "unrealized_intraday_pl": "0",
                    "unrealized_intraday_plpc": "0",
                    "current_price": f"{price}",
                    "lastday_price": f"{price}",
                    "change_today": "0",
                }
            )
        return 200, out

    def close_positions(self, query: Query, body: Any) -> tuple[int, Any]:
        if query.get("cancel_orders") in ("true", "True"):
            self.cancel_orders(query, None)
        out = []
        for symbol, (qty, _) in sorted(self.holdings.items()):
            status, payload = self.post_order(
                {},
                {
                    "symbol": symbol,
                    "qty": str(abs(qty)),
                    "type": "market",
                    "side": "sell" if qty > 0 else "buy",
                    "time_in_force": "day",
                },
            )
            out.append({"symbol": symbol, "status": status, "body": payload})
        return 207, out

    def close_position(self, query: Query, body: Any, symbol: str) -> tuple[int, Any]:
        """``DELETE /v2/positions/{symbol}``: a market order for the whole position (no cancels)."""
        qty = self.holdings.get(symbol, (0, 0.0))[0]
        if not qty:
            return _err(404, 40410000, "position does not exist")
        return self.post_order(
            {},
            {
                "symbol": symbol,
                "qty": str(abs(qty)),
                "type": "market",
                "side": "sell" if qty > 0 else "buy",
                "time_in_force": "day",
            },
        )

    def get_clock(self, query: Query, body: Any) -> tuple[int, Any]:
        now = datetime.now(UTC)
        return 200, {
            "timestamp": _now(),
            "is_open": self.market_open,
            "next_open": (now + timedelta(hours=16)).isoformat(),
            "next_close": (now + timedelta(hours=6)).isoformat(),
        }

    def get_calendar(self, query: Query, body: Any) -> tuple[int, Any]:
        day, end = date.fromisoformat(query["start"]), date.fromisoformat(query["end"])
        out = []
        while day <= end:
            if day.weekday() < 5:
                out.append(
                    {
                        "date": day.isoformat(),
                        "open": "09:30",
                        "close": "16:00",
                        "session_open": "0400",
                        "session_close": "2000",
                    }
                )
            day += timedelta(days=1)
        return 200, out

    # ---- the book --------------------------------------------------------------------------------

    def _new(
        self,
        cid: str,
        symbol: str,
        side: str,
        qty: int,
        kind: str,
        limit: float | None,
        stop: float | None,
        tif: str,
        order_class: str,
        *,
        status: str = "accepted",
        parent: str | None = None,
    ) -> dict[str, Any]:
        now = _now()
        order = {
            "id": str(uuid.uuid4()),
            "client_order_id": cid,
            "created_at": now,
            "updated_at": now,
            "submitted_at": now,
            "filled_at": None,
            "canceled_at": None,
            "symbol": symbol,
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)),
            "asset_class": "us_equity",
            "qty": str(qty),
            "filled_qty": "0",
            "filled_avg_price": None,
            "order_class": order_class,
            "order_type": kind,
            "type": kind,
            "side": side,
            "time_in_force": tif,
            "limit_price": None if limit is None else str(limit),
            "stop_price": None if stop is None else str(stop),
            "status": status,
            "extended_hours": False,
            "_parent": parent,
        }
        self.orders.append(order)
        return order

    def _legs(self, order: dict[str, Any]) -> list[dict[str, Any]]:
        return [o for o in self.orders if o["_parent"] == order["id"]]

    def _json(self, order: dict[str, Any], *, legs: bool) -> dict[str, Any]:
        out = {k: v for k, v in order.items() if not k.startswith("_")}
        children = [c for c in self._legs(order) if not c.get("_unnested")]
        out["legs"] = [self._json(c, legs=False) for c in children] if legs and children else None
        return out

    def _set(self, order: dict[str, Any], status: str, **fields: Any) -> None:
        order.update(status=status, updated_at=_now(), **fields)
        for leg in self._legs(order):
            if status != "filled" and leg["status"] in OPEN:
                leg.update(status="canceled", updated_at=_now(), canceled_at=_now())

    def _buying_power(self) -> float:
        reserved = sum(
            (int(o["qty"]) - int(o["filled_qty"]))
            * (_f(o["limit_price"]) or self.prices.get(o["symbol"], 0.0))
            for o in self.orders
            if o["status"] in OPEN and o["side"] == "buy" and not o["_parent"]
        )
        return max(self.cash - reserved, 0.0)

    def _open_qty(self, symbol: str, side: str) -> int:
        return sum(
            int(o["qty"]) - int(o["filled_qty"])
            for o in self.orders
            if o["symbol"] == symbol and o["side"] == side and o["status"] in OPEN and o["status"] != "held"
        )

    def _match(self, symbol: str, *, market_only: bool = False) -> None:
        price = self.prices[symbol]
        for o in [o for o in self.orders if o["symbol"] == symbol and o["status"] in OPEN - {"held"}]:
            if o["status"] not in OPEN:
                continue  # cancelled by an earlier fill in this loop
            limit, stop, buy = _f(o["limit_price"]), _f(o["stop_price"]), o["side"] == "buy"
            hit = {
                "market": True,
                "limit": limit is not None and (price <= limit if buy else price >= limit),
                "stop": stop is not None and (price >= stop if buy else price <= stop),
            }.get(o["type"], False)
            if hit and (not market_only or o["type"] == "market"):
                self._fill(
                    o,
                    price,
                    partial=o["type"] == "market"
                    and o["order_class"] == "simple"
                    and o["status"] != "partially_filled",
                )

    def _fill(self, order: dict[str, Any], price: float, *, partial: bool = False) -> None:
        """Fill what is left of ``order`` at ``price`` (half of it, once in ``partial_fill_every``
        simple market orders: see the module docstring)."""
        if partial:
            self._market_orders += 1
            partial = bool(self.partial_fill_every) and self._market_orders % self.partial_fill_every == 0
        done = int(order["filled_qty"])
        left = int(order["qty"]) - done
        qty = left // 2 if partial and left > 1 else left
        symbol, buy = order["symbol"], order["side"] == "buy"
        held, avg = self.holdings.get(symbol, (0, 0.0))
        if not buy and qty > held and not (self.shorting_enabled and held <= 0):
            self._set(order, "rejected")  # a long is never sold through zero by one order
            return
        signed = qty if buy else -qty
        new = held + signed
        if new and (held == 0 or (held > 0) == (signed > 0)):  # opened or added to: the average moves
            avg = (abs(held) * avg + qty * price) / abs(new)
        if new:
            self.holdings[symbol] = (new, avg)
        else:
            self.holdings.pop(symbol, None)
        self.cash -= signed * price
        now = _now()
        avg_fill = (done * float(order["filled_avg_price"] or 0) + qty * price) / (done + qty)
        if qty < left:
            order.update(
                status="partially_filled",
                updated_at=now,
                filled_qty=str(done + qty),
                filled_avg_price=str(avg_fill),
                _partial_at=self._request_no,
            )
            return
        self._set(order, "filled", filled_at=now, filled_qty=str(done + qty), filled_avg_price=str(avg_fill))
        for leg in self._legs(order):
            leg.update(
                status="new", qty=str(done + qty), updated_at=now, _unnested=self.legs_unnest_after_fill
            )


def _f(text: Any) -> float | None:
    return None if text in (None, "") else float(text)


def alpaca_broker(server: TradingFakeServer, sleeps: list[float] | None = None, **config: Any) -> Any:
    """An ``AlpacaBroker`` on ``server`` with fast test settings; waits are recorded in ``sleeps``."""
    from bot.broker.alpaca import AlpacaBroker
    from bot.config import AlpacaConfig, Secrets

    settings = {
        "trading_url": server.url,
        "timeout_seconds": 0.3,
        "max_retries": 3,
        "backoff_seconds": 0.01,
        **config,
    }
    record = sleeps if sleeps is not None else []
    return AlpacaBroker(
        AlpacaConfig(**settings),
        Secrets(alpaca_key=server.key_id, alpaca_secret=server.secret_key),
        sleep=record.append,
    )


def journaled_protected_entry(
    server: TradingFakeServer, journal: Any, client_order_id: str, qty: int, stop: float, symbol: str = "AAPL"
) -> Any:
    """An entry with its protective stop, sent through ``AlpacaBroker`` and journaled as the bot
    does (the leg's broker id with it) under a paper run ``paper-1``: what a daemon left behind."""
    from bot.broker.base import OrderRequest, Side

    if journal.run("paper-1") is None:
        journal.start_run(
            "paper-1",
            "paper",
            source="alpaca",
            synthetic=False,
            strategy="sma_cross",
            symbols=[symbol],
            timeframe="1Day",
            config={},
        )
    entry = alpaca_broker(server).submit(
        OrderRequest(client_order_id, symbol, Side.BUY, qty, protective_stop=stop)
    )
    journal.record_order("paper-1", entry)
    return entry
