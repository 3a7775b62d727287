"""Probe the Alpaca paper account for the behaviours the local fake assumes (``probe-alpaca``).

The fake (``tests/fakes/alpaca_trading.py``) follows Alpaca's documentation and its users'
reports, taking the stricter reading where a source is unsure. ``AlpacaProbe`` places tiny orders
(``client_order_id`` prefix ``probe-``) to see what the paper account really does:

| key | behaviour | the probe's orders | needs an open market |
|---|---|---|---|
| ``leg_time_in_force`` (e) | a DAY OTO parent's stop leg is DAY too | a DAY OTO limit buy far below the price | no |
| ``cancel`` (c) | statuses after ``DELETE /v2/orders/{id}``, time to ``canceled`` | the same limit buy, cancelled | no |
| ``legs_after_fill`` (a) | once the OTO entry filled, does ``GET /v2/orders?status=open&nested=true`` list the stop leg nested under it or as an order of its own? | a GTC OTO market buy with a stop-loss leg | yes |
| ``held_shares`` (d) | a plain sell of the shares the open stop leg holds is refused | a DAY market sell | yes |
| ``wash_trade`` (b) | another OTO buy beside the open stop leg (a sell) is refused as a potential wash trade | a second GTC OTO market buy | yes |

Contract: ``run`` never raises for what the account answers (a refusal, a timeout, an order
that does not fill): each behaviour gets a ``Finding``, ``observed`` None when it could not be
checked and ``detail`` saying why. Only refused keys (``ConfigError``) and interrupts escape.
``cleanup`` (``bot.broker.probe_session``; call it in a ``finally``) cancels every order the
probe placed, legs included, and closes the position it opened; it never raises, and returns
what it did and what is left. Call ``check_untouched`` first: the probe needs a symbol with no
position and no open order, so that everything in it afterwards is the probe's. Every wait ends
after ``wait_seconds``; each request is bounded by the client's timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.broker.alpaca_http import AlpacaRefused
from bot.broker.probe_session import (
    DONE,
    FIRST_POLL_SECONDS,
    MAX_POLL_SECONDS,
    ProbeSession,
    StepFailed,
    refusal_text,
)
from bot.broker.probe_session import value_of as _v
from bot.errors import TemporaryError

#: what ``tests/fakes/alpaca_trading.py`` assumes, as the probe reports it (keep the two in step)
ASSUMED: dict[str, tuple[str, str, str]] = {
    # key: (behaviour, assumed, what the fake does exactly)
    "legs_after_fill": (
        "(a) the stop leg once its OTO entry filled, in open orders (nested=true)",
        "un-nested",
        "listed as an order of its own, the filled entry's legs empty "
        "(legs_unnest_after_fill; switched off: nested)",
    ),
    "wash_trade": (
        "(b) a second OTO buy beside the open stop leg (a sell)",
        "refused",
        "422 code 42210000 'potential wash trade detected. use complex orders' (wash_blocks_complex)",
    ),
    "cancel": (
        "(c) statuses after a cancel (DELETE /v2/orders/{id})",
        "pending_cancel -> canceled",
        "pending_cancel (still open, still holding shares) for cancel_delay = 0.3 s, then canceled",
    ),
    "held_shares": (
        "(d) a plain sell of the shares the stop leg holds",
        "refused",
        "403 code 40310000 'insufficient qty available for order'",
    ),
    "leg_time_in_force": (
        "(e) time in force of a DAY OTO parent's stop leg",
        "day",
        "legs inherit the parent's time in force (legs_inherit_tif)",
    ),
}
ORDER = ("legs_after_fill", "wash_trade", "cancel", "held_shares", "leg_time_in_force")


@dataclass(frozen=True)
class Finding:
    """One behaviour: what the fake assumes and what the paper account said (None: not checked)."""

    key: str
    observed: str | None
    detail: str

    @property
    def behaviour(self) -> str:
        return ASSUMED[self.key][0]

    @property
    def assumed(self) -> str:
        return ASSUMED[self.key][1]

    @property
    def fake_detail(self) -> str:
        return ASSUMED[self.key][2]

    @property
    def matches(self) -> bool | None:
        return None if self.observed is None else self.observed == self.assumed

    def as_dict(self) -> dict[str, Any]:
        return {
            "behaviour": self.key,
            "description": self.behaviour,
            "fake_assumes": self.assumed,
            "fake_detail": self.fake_detail,
            "paper_says": self.observed,
            "matches": self.matches,
            "detail": self.detail,
        }


class AlpacaProbe(ProbeSession):
    """Runs the probes of the module docstring (cleanup and calls: ``ProbeSession``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._found: dict[str, Finding] = {}

    # ---- the probes ---------------------------------------------------------------------------

    def run(self, market_open: bool) -> list[Finding]:
        """Probe (e) and (c) always, (a), (d) and (b) only when ``market_open``; one Finding each."""
        try:
            self._tif_and_cancel()
        except (StepFailed, TemporaryError, AlpacaRefused) as exc:
            self._not_checked(("leg_time_in_force", "cancel"), str(exc))
        if not market_open:
            self._not_checked(
                ("legs_after_fill", "held_shares", "wash_trade"),
                "the market is closed: needs an open market (a market buy that fills)",
            )
        else:
            try:
                entry = self._entry()
                self._legs_after_fill(entry)
                self._held_shares()
                self._wash_trade()
            except (StepFailed, TemporaryError, AlpacaRefused) as exc:
                self._not_checked(("legs_after_fill", "held_shares", "wash_trade"), str(exc))
        return [self._found[key] for key in ORDER]

    def _tif_and_cancel(self) -> None:
        from alpaca.trading.enums import OrderClass, OrderSide, TimeInForce
        from alpaca.trading.requests import LimitOrderRequest, StopLossRequest

        limit, stop = _price(self.price * 0.7), _price(self.price * 0.6)  # far below: it rests, never fills
        day_oto = dict(
            symbol=self.symbol,
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            order_class=OrderClass.OTO,
            stop_loss=StopLossRequest(stop_price=stop),
        )
        raw, refusal = self._submit(
            "tif",
            f"DAY OTO limit buy 1 {self.symbol} at {limit} (stop leg {stop})",
            lambda cid: LimitOrderRequest(limit_price=limit, client_order_id=cid, **day_oto),
        )
        if raw is None:
            raise StepFailed(f"the DAY OTO limit buy was refused ({refusal_text(refusal)})")
        raw = self._get(str(raw.id))  # by id, nested: with its legs
        legs = raw.legs or []
        if legs:
            tifs = sorted({_v(leg.time_in_force) for leg in legs})
            self._record(
                "leg_time_in_force",
                ",".join(tifs),
                f"parent {_v(raw.time_in_force)}, leg(s) "
                f"{', '.join(tifs)} (GET /v2/orders/{{id}}?nested=true)",
            )
        else:
            self._record("leg_time_in_force", "no leg", "GET /v2/orders/{id}?nested=true showed no legs")
        if _v(raw.status) in DONE:
            raise StepFailed(f"the resting limit buy was already {_v(raw.status)} before the cancel")
        start = self._clock()
        try:
            self.policy.call("cancel probe order", lambda: self.client.cancel_order_by_id(str(raw.id)))
        except AlpacaRefused as exc:
            raise StepFailed(f"the cancel was refused (HTTP {exc.status}: {exc.message})") from None
        answered = self._clock() - start
        seen, _ = self._watch(str(raw.id), lambda s: s in DONE, start=start)
        sequence = " -> ".join(status for _, status in seen)
        final_t, final = seen[-1]
        if final == "canceled":
            detail = (
                f"canceled {final_t:.2f} s after the DELETE (answered in {answered:.2f} s; polled every "
                f"{FIRST_POLL_SECONDS}-{MAX_POLL_SECONDS} s, so the time is an upper bound)"
            )
        else:
            detail = f"still {final} {final_t:.1f} s after the DELETE (the wait ended)"
        self._record(
            "cancel", sequence, detail + "; seen: " + ", ".join(f"{s} at {t:.2f} s" for t, s in seen)
        )

    def _entry(self) -> Any:
        """A GTC OTO market buy of one share with a stop leg, waited for until filled."""
        raw, refusal = self._submit(
            "entry", f"GTC OTO market buy 1 {self.symbol} (stop leg {self._stop()})", self._oto_buy
        )
        if raw is None:
            raise StepFailed(f"the OTO market buy was refused ({refusal_text(refusal)})")
        seen, raw = self._watch(str(raw.id), lambda s: s in DONE)
        if _v(raw.status) != "filled":
            raise StepFailed(
                f"the OTO market buy was {_v(raw.status)}, not filled, after {seen[-1][0]:.1f} s"
            )
        return raw

    def _legs_after_fill(self, entry: Any) -> None:
        from alpaca.trading.enums import QueryOrderStatus
        from alpaca.trading.requests import GetOrdersRequest

        leg_ids = set(self._legs_of.get(entry.client_order_id, ()))
        query = GetOrdersRequest(status=QueryOrderStatus.OPEN, nested=True, symbols=[self.symbol], limit=500)
        listed = [
            o
            for o in self.policy.call("list open orders", lambda: self.client.get_orders(query))
            if (o.symbol or "") == self.symbol
        ]
        how = "by the leg's id (from the entry's answers)"
        if not leg_ids:  # Alpaca never showed the leg's id: the symbol was clean, so any stop sell is it
            leg_ids = {
                str(leg.id)
                for o in listed
                for leg in [o, *(o.legs or [])]
                if _v(leg.type) == "stop" and _v(leg.side) == "sell"
            }
            how = "by symbol, side and type (no answer showed the leg's id)"
        nested = any(str(leg.id) in leg_ids for o in listed for leg in o.legs or [])
        alone = any(str(o.id) in leg_ids for o in listed)
        observed = {
            (True, False): "nested",
            (False, True): "un-nested",
            (True, True): "nested and un-nested",
            (False, False): "not listed",
        }[(nested, alone)]
        parent_listed = any(str(o.id) == str(entry.id) for o in listed)
        self._record(
            "legs_after_fill",
            observed,
            f"{len(listed)} top-level open {self.symbol} order(s); the filled entry "
            f"{'is' if parent_listed else 'is not'} among them, and its own GET shows "
            f"{len(entry.legs or [])} leg(s); the leg found {how}",
        )

    def _held_shares(self) -> None:
        from alpaca.trading.enums import OrderSide, TimeInForce
        from alpaca.trading.requests import MarketOrderRequest

        raw, refusal = self._submit(
            "sell",
            f"DAY market sell 1 {self.symbol} (the share the stop leg holds)",
            lambda cid: MarketOrderRequest(
                symbol=self.symbol,
                qty=1,
                side=OrderSide.SELL,
                time_in_force=TimeInForce.DAY,
                client_order_id=cid,
            ),
        )
        self._record("held_shares", *self._verdict(raw, refusal))

    def _wash_trade(self) -> None:
        raw, refusal = self._submit(
            "wash", f"GTC OTO market buy 1 {self.symbol} beside the open stop leg", self._oto_buy
        )
        self._record("wash_trade", *self._verdict(raw, refusal))

    def _verdict(self, raw: Any, refusal: Any) -> tuple[str, str]:
        if raw is None:
            return "refused", refusal_text(refusal)
        _, raw = self._watch(str(raw.id), lambda s: s in DONE)  # let it fill: cleanup then sees the position
        return "accepted", f"accepted; {_v(raw.status)} (qty {raw.qty}, filled {raw.filled_qty})"

    def _oto_buy(self, cid: str) -> Any:
        from alpaca.trading.enums import OrderClass, OrderSide, TimeInForce
        from alpaca.trading.requests import MarketOrderRequest, StopLossRequest

        # GTC like the bot's own protected entries (bot/broker/alpaca.py); the stop far enough below
        # that it cannot trigger during the probe
        return MarketOrderRequest(
            symbol=self.symbol,
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            order_class=OrderClass.OTO,
            stop_loss=StopLossRequest(stop_price=self._stop()),
            client_order_id=cid,
        )

    def _stop(self) -> float:
        return _price(self.price * 0.8)

    def _record(self, key: str, observed: str | None, detail: str) -> None:
        self._found[key] = Finding(key, observed, detail)

    def _not_checked(self, keys: tuple[str, ...], why: str) -> None:
        for key in keys:
            self._found.setdefault(key, Finding(key, None, f"not checked: {why}"))


def _price(value: float) -> float:
    """A price Alpaca takes: whole cents (the probe refuses stocks under $1, which need sub-pennies)."""
    return round(value, 2)
