"""The calls and the bookkeeping under ``probe-alpaca`` (``bot.broker.probe``): one symbol, orders
sent once each under ``probe-`` ids, every answer remembered, and a cleanup that never raises.

``ProbeSession`` remembers every order it sent (by client id, answered or not) and every order or
leg an answer showed (by broker id: a leg may later leave its parent's ``legs`` when un-nested
after the fill, and then only its id ties it to the probe). ``cleanup`` cancels all of them, and
any other open order in the symbol (the symbol was clean before: ``check_untouched``), waits for
the cancels to be confirmed, closes the position with its own ``probe-...-close`` order, and
returns what it did and what is left. Every wait ends after ``wait_seconds``; every request is
bounded by the client's timeout and idempotent ones retried by ``RetryPolicy``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.broker.alpaca_http import AlpacaRefused, RetryPolicy, classify
from bot.errors import ConfigError

PREFIX = "probe-"
#: statuses after which an order can no longer fill or be cancelled
DONE = frozenset({"filled", "canceled", "expired", "replaced", "rejected", "suspended"})
FIRST_POLL_SECONDS, MAX_POLL_SECONDS = (
    0.05,
    0.5,
)  # fine early (to time a cancel), then at most 2 GETs a second


@dataclass
class Cleanup:
    """What ``cleanup`` did (``done``) and what it could not confirm gone (``left``)."""

    done: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.left


class StepFailed(Exception):
    """A probe step could not go on (no answer, no fill in time): its behaviours are not checked."""


def value_of(value: Any) -> str:
    """An alpaca-py enum's value (or the text itself)."""
    return str(getattr(value, "value", value) or "")


_v = value_of


def is_open(raw: Any) -> bool:
    return _v(raw.status) not in DONE


class ProbeSession:
    """Orders of one probe on one symbol, one share at a time; see the module docstring."""

    def __init__(
        self,
        client: Any,
        policy: RetryPolicy,
        symbol: str,
        price: float,
        tag: str,
        *,
        wait_seconds: float = 10.0,
        say: Callable[[str], None] = lambda _: None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self.policy, self.symbol, self.price, self.tag = client, policy, symbol, price, tag
        self.wait_seconds = wait_seconds
        self._say, self._sleep, self._clock = say, sleep, clock
        self._cids: list[str] = []  # every id sent, answered or not: cleanup looks each one up
        # broker id -> label of every order and leg seen in an answer: a leg may later leave its
        # parent's ``legs`` (un-nested after the fill), and then only its id ties it to the probe
        self._known: dict[str, str] = {}
        self._legs_of: dict[str, set[str]] = {}  # client_order_id -> broker ids of its legs

    # ---- before -------------------------------------------------------------------------------

    def check_untouched(self) -> None:
        """``ConfigError`` (exit 2) unless the account holds no position and no open order in the
        symbol: cleanup may then take everything it finds in that symbol for the probe's own."""
        held = self._position_qty()
        orders = [o for o in self._open_orders() if (o.symbol or "") == self.symbol]
        if held or orders:
            raise ConfigError(
                f"--symbol: the account already has {held} {self.symbol} held and {len(orders)} "
                f"open {self.symbol} order(s); the probe needs a symbol it can clean up "
                "completely: choose another --symbol"
            )

    # ---- cleanup ------------------------------------------------------------------------------

    def cleanup(self) -> Cleanup:
        """Cancel what the probe placed, close what it bought, and say what is left. Never raises."""
        out = Cleanup()
        try:
            self._cancel_placed(out)
            self._close_position(out)
            self._what_is_left(out)
        except Exception as exc:  # noqa: BLE001 - whatever failed, the user must hear what may be left
            out.left.append(
                f"cleanup stopped ({type(exc).__name__}: {exc}); check the {self.symbol} orders "
                f"(client_order_id {PREFIX}{self.tag}-*) and position by hand"
            )
        return out

    def _cancel_placed(self, out: Cleanup) -> None:
        """Cancel every open order of the probe: those known by id (its ``probe-`` ids and every leg
        an answer showed) and any other open order in the symbol, which was clean before the probe
        (``check_untouched``), so it is the probe's too (a leg that left its parent, unnamed)."""
        for cid in self._cids:
            raw = self._lookup(cid)
            if raw is not None:
                self._note(self._get(str(raw.id)))  # by id, nested: with its legs
        live = {str(o.id): o for o in self._open_orders(flat=True) if (o.symbol or "") == self.symbol}
        for oid in set(self._known) - set(live):
            raw = self._get(oid)
            if is_open(raw):
                live[oid] = raw
        for oid in live:
            try:
                self.policy.call("cancel probe order", lambda: self.client.cancel_order_by_id(oid))
            except AlpacaRefused:
                pass  # 422 not cancelable: its parent's cancel took it along, or it filled meanwhile
        ids = set(live)
        deadline = self._clock() + self.wait_seconds
        while ids and self._clock() < deadline:
            ids &= {str(o.id) for o in self._open_orders(flat=True)}
            if ids:
                self._sleep(MAX_POLL_SECONDS)
        for oid, raw in live.items():
            label = self._known.get(oid) or (
                f"{raw.client_order_id} ({_v(raw.type)} {_v(raw.side)} {raw.qty}; "
                "no probe- id: a leg that left its parent?)"
            )
            status = _v(self._get(oid).status)
            (out.done if status in DONE else out.left).append(f"{label}: {status}")

    def _close_position(self, out: Cleanup) -> None:
        from alpaca.trading.enums import OrderSide, TimeInForce
        from alpaca.trading.requests import MarketOrderRequest

        qty = self._position_qty()
        if not qty:
            return
        side = OrderSide.SELL if qty > 0 else OrderSide.BUY
        raw, refusal = self._submit(
            "close",
            f"DAY market {_v(side)} {abs(qty)} {self.symbol} (closing)",
            lambda cid: MarketOrderRequest(
                symbol=self.symbol,
                qty=abs(qty),
                side=side,
                time_in_force=TimeInForce.DAY,
                client_order_id=cid,
            ),
        )
        if raw is None:
            out.left.append(
                f"{qty} {self.symbol} held: the closing order was refused ({refusal_text(refusal)})"
            )
            return
        _, raw = self._watch(str(raw.id), lambda s: s in DONE)
        if _v(raw.status) == "filled":
            out.done.append(
                f"{raw.client_order_id}: {_v(side)} {abs(qty)} {self.symbol} filled at {raw.filled_avg_price}"
            )
            return
        # a closing order left to fill at the next open would surprise: take it back and say so
        try:
            self.policy.call("cancel probe order", lambda: self.client.cancel_order_by_id(str(raw.id)))
        except AlpacaRefused:
            pass
        out.left.append(
            f"{raw.client_order_id}: the closing {_v(side)} was {_v(raw.status)}, not filled, after "
            f"{self.wait_seconds:g} s; cancelled"
        )

    def _what_is_left(self, out: Cleanup) -> None:
        # the symbol was clean before the probe (check_untouched): anything in it now is the probe's
        for raw in self._open_orders(flat=True):
            if (raw.symbol or "") == self.symbol:
                out.left.append(
                    f"open order {raw.client_order_id} ({_v(raw.type)} {_v(raw.side)} {raw.qty} "
                    f"{self.symbol}): {_v(raw.status)}"
                )
        qty = self._position_qty()
        if qty:
            out.left.append(f"position: {qty} {self.symbol}")

    # ---- calls --------------------------------------------------------------------------------

    def _submit(self, step: str, what: str, make: Callable[[str], Any]) -> tuple[Any | None, Any]:
        """POST one order, once (never resent: the probe wants the first answer): (raw, None) when
        accepted, (None, Failure) when refused; ``StepFailed`` when no answer came (cleanup will
        look the id up)."""
        cid = f"{PREFIX}{self.tag}-{step}"
        self._cids.append(cid)
        self._say(f"placing {cid}: {what}")
        payload = make(cid)
        try:
            raw = self.client.submit_order(payload)
        except Exception as exc:  # noqa: BLE001 - classify sorts it; unknown ones re-raise
            failure = classify(exc)
            if failure is None:
                raise
            if failure.kind == "auth":
                raise ConfigError(
                    f"Alpaca rejected the API keys (HTTP {failure.status}: {failure.message})"
                ) from None
            if failure.kind == "refused":
                self._say(f"refused {cid}: HTTP {failure.status}, code {failure.code}: {failure.message}")
                return None, failure
            raise StepFailed(
                f"no answer to {cid} ({failure.status or ''} {failure.message})".strip()
            ) from None
        self._note(raw)
        return raw, None

    def _get(self, order_id: str) -> Any:
        from alpaca.trading.requests import GetOrderByIdRequest

        nested = GetOrderByIdRequest(nested=True)
        raw = self.policy.call("get probe order", lambda: self.client.get_order_by_id(order_id, nested))
        if raw.client_order_id.startswith(PREFIX):
            self._note(raw)
        return raw

    def _note(self, raw: Any) -> None:
        """Remember an order of the probe and its legs by broker id, with a label for the cleanup."""
        cid = raw.client_order_id
        self._known[str(raw.id)] = f"{cid} ({_v(raw.type)} {_v(raw.side)} {raw.qty})"
        for leg in raw.legs or []:
            self._legs_of.setdefault(cid, set()).add(str(leg.id))
            self._known[str(leg.id)] = f"stop leg of {cid} ({_v(leg.side)} {leg.qty} at {leg.stop_price})"

    def _lookup(self, cid: str) -> Any | None:
        try:
            return self.policy.call("get probe order", lambda: self.client.get_order_by_client_id(cid))
        except AlpacaRefused as exc:
            if exc.status == 404:
                return None
            raise

    def _open_orders(self, *, flat: bool = False) -> list[Any]:
        """Open orders (nested); ``flat`` adds the legs as orders of their own, open ones only."""
        from alpaca.trading.enums import QueryOrderStatus
        from alpaca.trading.requests import GetOrdersRequest

        query = GetOrdersRequest(status=QueryOrderStatus.OPEN, nested=True, limit=500)
        raws = self.policy.call("list open orders", lambda: self.client.get_orders(query))
        if not flat:
            return raws
        everything = [x for raw in raws for x in (raw, *(raw.legs or []))]
        return [x for x in everything if is_open(x)]

    def _position_qty(self) -> int:
        positions = self.policy.call("get positions", self.client.get_all_positions)
        for p in positions:
            if p.symbol == self.symbol:
                return abs(int(float(p.qty))) * (-1 if _v(p.side) == "short" else 1)
        return 0

    def _watch(
        self, order_id: str, done: Callable[[str], bool], *, start: float | None = None
    ) -> tuple[list[tuple[float, str]], Any]:
        """Poll one order until ``done(status)`` or ``wait_seconds`` after ``start``: the statuses
        seen as (seconds since start, status), each change once, and the last answer."""
        start = self._clock() if start is None else start
        seen: list[tuple[float, str]] = []
        pause = FIRST_POLL_SECONDS
        while True:
            raw = self._get(order_id)
            elapsed, status = self._clock() - start, _v(raw.status)
            if not seen or seen[-1][1] != status:
                seen.append((elapsed, status))
            if done(status) or elapsed >= self.wait_seconds:
                return seen, raw
            self._sleep(pause)
            pause = min(pause * 2, MAX_POLL_SECONDS)


def refusal_text(failure: Any) -> str:
    return f"HTTP {failure.status}, code {failure.code}: {failure.message}"


PAPER_HOST = "paper-api.alpaca.markets"


def check_probe_url(url: str) -> None:
    """``ConfigError`` naming ``alpaca.trading_url`` unless it is Alpaca's paper endpoint (https)
    or a loopback address (a local test server): the probe places real orders, so a stricter
    check than the bot's own (which refuses only the live host) is worth its keep."""
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not ((host == PAPER_HOST and parts.scheme == "https") or loopback):
        raise ConfigError(
            f"alpaca.trading_url: probe-alpaca runs only on the paper endpoint "
            f"(https://{PAPER_HOST}) or a loopback test server, got {url}"
        )
