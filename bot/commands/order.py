"""``python -m bot order buy|sell SYMBOL QTY [--stop PRICE] [--dry-run] [--reason TEXT]``: one
order by hand on the Alpaca paper account, through the same risk gate and journal as the bot's own.

The order gets a deterministic id (``manual-{side}-{SYMBOL}-{QTY}-{minute}``): the same command
repeated within a minute returns the order already sent instead of sending a second one. It is
journaled (``pending``) before it is sent, under the account's latest paper run (a ``manual`` run
when there is none), and again with the broker's answer. A sale of shares a protective stop holds
cancels that stop first and protects what is left (``bot.engine.protection``), as the engine does.
``--stop`` gives a buy a protective stop held at the broker (GTC).

``--dry-run`` asks the risk gate only: the verdict is printed, nothing is sent or journaled.

Exit codes: 0 the broker accepted the order (``--dry-run``: the gate allows it); 4 the risk gate or
the broker refused it (the reason on one line); 2 bad input (configuration, keys, symbol, quantity,
stop); 1 a bug.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from bot.commands.common import load, new_run_id, start_logging
from bot.config import Config, secrets_from_env
from bot.config_schema import _symbols
from bot.errors import ConfigError

REFUSED = 4


def run(args: argparse.Namespace) -> int:
    config = load(args.config)
    side, symbol, qty, stop = _checked(args)
    secrets = secrets_from_env()
    if not (secrets.alpaca_key and secrets.alpaca_secret):
        raise ConfigError(
            "order needs paper keys: set ALPACA_API_KEY and ALPACA_SECRET_KEY in the environment"
        )
    now = datetime.now(UTC)
    run_id = new_run_id()
    start_logging(config, "order", run_id, writable=("journal.path",))

    from bot.broker.alpaca import AlpacaBroker
    from bot.broker.base import Side
    from risk.base import OrderIntent

    broker = AlpacaBroker(config.alpaca, secrets)
    price = _last_price(config, broker, symbol, secrets)
    if stop is not None and side == "buy" and stop >= price:
        raise ConfigError(
            f"--stop: a buy's protective stop must be below the last price {price:.2f}, got {stop:g}"
        )
    cid = f"manual-{side}-{symbol}-{qty}-{now:%Y%m%dT%H%MZ}"
    sent = broker.get_order(cid)
    if sent is not None:  # the same command again within the minute: it was sent already
        print(f"already sent: {sent.status} {side} {qty} {symbol} (id {cid}); nothing new sent")
        return REFUSED if sent.status == "rejected" else 0
    intent = OrderIntent(cid, symbol, Side(side), qty, price, now)
    journal, gate, context, open_orders = _gate_and_context(config, broker, now)
    try:
        result = gate.evaluate(intent, context)
        verdict = result.verdict
        approved = result.intent.qty if result.intent else 0
        print(
            f"risk gate: {verdict.action}"
            + (f" ({verdict.rule}: {verdict.reason})" if verdict.rule else "")
            + (f", {approved} of {qty}" if result.intent and approved != qty else "")
        )
        if result.intent is None:
            return REFUSED
        if args.dry_run:
            print(f"dry run: {side} {approved} {symbol} at about {price:.2f} not sent")
            return 0
        return _send(journal, broker, result.intent, context, open_orders, stop, args.reason or "", now)
    finally:
        journal.close()


def _checked(args: argparse.Namespace) -> tuple[str, str, int, float | None]:
    symbol = args.symbol.upper()
    problem = _symbols((symbol,))
    if problem:
        raise ConfigError(f"SYMBOL: expected {problem}")
    if args.qty <= 0:
        raise ConfigError(f"QTY: expected a whole number of shares > 0, got {args.qty}")
    if args.stop is not None and not (args.stop > 0 and args.stop < float("inf")):
        raise ConfigError(f"--stop: expected a price > 0, got {args.stop}")
    if args.stop is not None and args.side == "sell":
        raise ConfigError("--stop: only a buy carries a protective stop")
    return args.side, symbol, args.qty, args.stop


def _last_price(config: Config, broker: Any, symbol: str, secrets: Any) -> float:
    held = broker.positions().get(symbol)
    if held is not None and held.last_price > 0:
        return held.last_price
    from bot.calendar.timeframes import parse_timeframe
    from bot.data.alpaca_feed import AlpacaFeed
    from bot.errors import DataError

    feed = AlpacaFeed.from_config(config, secrets=secrets)
    try:
        bars = feed.latest([symbol], parse_timeframe("1Min")).get(symbol)
    finally:
        feed.close()
    if bars is None or bars.empty:
        raise DataError(f"SYMBOL: no recent trade of {symbol} at Alpaca (is it a US stock symbol?)")
    return float(bars["close"].iloc[-1])


def _gate_and_context(config: Config, broker: Any, now: datetime) -> tuple[Any, Any, Any, list]:
    from bot.broker.base import broker_day_trades, pending_quantities
    from bot.journal.store import open_journal
    from risk.base import RiskContext
    from risk.gate import RiskGate
    from risk.killswitch import KillSwitch

    journal = open_journal(config.resolve(config.journal.path), batch_size=config.journal.batch_size)
    broker.know_legs(journal.protective_legs())  # before reading orders: un-nested legs are ours
    gate = RiskGate.from_config(
        config.risk,
        KillSwitch(journal),
        extended_hours=config.data.extended_hours,
        allow_short=config.broker.allow_short,
    )
    account, positions, open_orders = broker.account(), broker.positions(), broker.open_orders()
    pending = pending_quantities(open_orders)
    context = RiskContext(
        account.equity,
        account.cash,
        positions,
        pending,
        now=now,
        broker_day_trades=broker_day_trades(account),
    )
    return journal, gate, context, open_orders


def _send(
    journal: Any,
    broker: Any,
    intent: Any,
    context: Any,
    open_orders: list,
    stop: float | None,
    reason: str,
    now: datetime,
) -> int:
    from bot.broker.base import Order, OrderRequest, OrderStatus, Side
    from bot.engine.protection import Protection

    run_id = _run_for(journal, now)
    protection = Protection(broker, journal, run_id)
    stops = Protection.stops_of(intent.symbol, open_orders)
    old_stop = protection.release(stops, now) if stops else None
    if stops and old_stop is None:
        print(f"not sent: the protective stop of {intent.symbol} could not be cancelled in time; try again")
        return REFUSED
    request = OrderRequest(
        intent.client_order_id,
        intent.symbol,
        intent.side,
        intent.qty,
        protective_stop=stop if intent.side is Side.BUY else None,
    )
    journal.record_order(run_id, Order(request, now, OrderStatus.PENDING, reason=reason))
    order = broker.submit(request)
    order.reason = order.reason or reason
    journal.record_order(run_id, order)
    if old_stop is not None:
        held = context.positions[intent.symbol].qty if intent.symbol in context.positions else 0
        placed = [protection.after(order, held, context.pending.get(intent.symbol, 0), old_stop, now)]
        if protection.owes(intent.symbol):
            _await_done(broker, order)  # a stop sell beside the working buy would be a wash trade
            placed = protection.keep(datetime.now(UTC), broker.positions(), broker.open_orders())
        for stop_order in filter(None, placed):
            print(
                f"protective stop: {stop_order.request.qty} {intent.symbol} at {old_stop:.2f} (was on {held})"
            )
        if protection.owes(intent.symbol):
            print(
                f"warning: the buy is still working, so {held} {intent.symbol} held before it have no broker-held "
                "stop (one now would be a wash trade); the bot's backup stop covers them while it runs"
            )
    if order.status is OrderStatus.REJECTED:
        print(f"broker: rejected {intent.side} {intent.qty} {intent.symbol}: {order.reason}")
        return REFUSED
    print(
        f"broker: {order.status} {intent.side} {intent.qty} {intent.symbol} (id {order.client_order_id}, "
        f"broker id {order.broker_order_id})"
    )
    return 0


def _await_done(broker: Any, order: Any) -> None:
    """Wait briefly (a market order in session fills at once) for ``order`` to leave the book."""
    import time

    from bot.broker.alpaca import CANCEL_WAIT_SECONDS

    deadline = time.monotonic() + CANCEL_WAIT_SECONDS
    while time.monotonic() < deadline:
        current = broker.get_order(order.client_order_id)
        if current is None or not current.status.is_open:
            return
        time.sleep(0.25)


def _run_for(journal: Any, now: datetime) -> str:
    """The latest paper run (the daemon's, which reconciles this order with the rest), else a new
    ``manual`` run."""
    last = journal.latest_run()
    if last is not None and last.mode == "paper":
        return last.run_id
    run_id = f"manual-{now:%Y%m%dT%H%M%SZ}"
    journal.start_run(
        run_id,
        "manual",
        source="alpaca",
        synthetic=False,
        strategy="manual",
        symbols=[],
        timeframe="",
        config={},
    )
    journal.end_run(run_id, "completed", None)
    return run_id
