"""``python -m bot probe-alpaca [--symbol F] [--wait SECONDS] [--yes] [--json]``: check, with tiny
orders on the Alpaca **paper** account, the behaviours the local fake assumes (issue 12, item 5;
see ``bot.broker.probe``), print them next to the fake's assumptions, and clean up.

Opt-in and never in CI: it needs paper keys in the environment, ``alpaca.trading_url`` must be
the paper endpoint (or a loopback test server), and without ``--yes`` it only prints its plan and
sends nothing (exit 0). With ``--yes`` it reads the clock; when the market is closed it probes
only what a resting limit order shows ((c) and (e)) and says the rest needs an open market.
Every order it places has a ``client_order_id`` starting ``probe-``; cancelling them and closing
the position it opened happens in a ``finally``, and the output says what was cleaned.

Exit codes: 0 the probe ran and left nothing behind (whatever it found); 2 bad input (no keys,
keys refused, a non-paper URL, a bad --symbol or --wait, a symbol the account already holds or
has open orders in, no price for the symbol); 1 the cleanup could not confirm that everything it
placed is gone (named on stderr), or a bug.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from secrets import token_hex
from typing import Any

from bot.commands.common import load, new_run_id, start_logging
from bot.config import Config, secrets_from_env
from bot.config_schema import _symbols
from bot.errors import ConfigError, DataError

PLAN = [
    "(e)+(c) a DAY OTO limit buy far below the price (stop leg further below): read its leg's time in force, "
    "cancel it and time the statuses until canceled [any time]",
    "(a) a GTC OTO market buy with a stop-loss leg; once filled, list open orders nested: is the leg nested? "
    "[open market]",
    "(d) a DAY market sell of that share while the stop leg holds it [open market]",
    "(b) a second GTC OTO market buy beside the open stop leg [open market]",
    "cleanup: cancel every order placed (legs too), sell what was bought, report anything left",
]


def run(args: argparse.Namespace) -> int:
    config = load(args.config)
    symbol = args.symbol.upper()
    problem = _symbols((symbol,))
    if problem:
        raise ConfigError(f"--symbol: expected {problem}")
    if not (0 < args.wait <= 120):
        raise ConfigError(f"--wait: expected seconds in (0, 120], got {args.wait:g}")
    from bot.broker.alpaca_http import KEY_VARS
    from bot.broker.probe_session import check_probe_url

    keys = secrets_from_env()
    if not (keys.alpaca_key and keys.alpaca_secret):
        raise ConfigError(f"probe-alpaca needs paper keys: set {KEY_VARS} in the environment")
    check_probe_url(config.alpaca.trading_url)
    if not args.yes:
        return _print_plan(config, symbol, args.json)

    run_id = new_run_id()
    start_logging(config, "probe-alpaca", run_id)
    from bot.broker.alpaca_http import RetryPolicy, build_trading_client
    from bot.broker.probe import AlpacaProbe

    client = build_trading_client(config.alpaca, keys)
    policy = RetryPolicy(config.alpaca.max_retries, config.alpaca.backoff_seconds, sleep=time.sleep)
    clock = policy.call("get clock", client.get_clock)
    price = _last_price(config, symbol, keys)
    tag = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{token_hex(2)}"
    probe = AlpacaProbe(client, policy, symbol, price, tag, wait_seconds=args.wait, say=_say)
    probe.check_untouched()
    _say(
        f"probing {config.alpaca.trading_url} with 1 {symbol} at about {price:.2f}; market "
        f"{'open' if clock.is_open else 'closed'}; ids {_prefix(tag)}*"
    )
    findings: list[Any] | None = None
    try:
        findings = probe.run(bool(clock.is_open))
    finally:
        cleanup = probe.cleanup()
        if findings is None:  # interrupted or keys refused mid-way: still say what was cleaned
            _print_cleanup(cleanup, sys.stderr)
    assert findings is not None  # run() returned: an exception would have left through the finally
    report = {
        "ran": True,
        "trading_url": config.alpaca.trading_url,
        "symbol": symbol,
        "qty": 1,
        "price": price,
        "market_open": bool(clock.is_open),
        "next_open": str(clock.next_open),
        "client_order_id_prefix": _prefix(tag),
        "findings": [f.as_dict() for f in findings],
        "cleanup": {"done": cleanup.done, "left": cleanup.left},
        "clean": cleanup.clean,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_table(report, findings, cleanup)
    if not cleanup.clean:
        print(
            f"error: the probe's cleanup left {len(cleanup.left)} thing(s) at the broker: "
            + "; ".join(cleanup.left),
            file=sys.stderr,
        )
        return 1
    return 0


def _prefix(tag: str) -> str:
    from bot.broker.probe_session import PREFIX

    return f"{PREFIX}{tag}-"


def _print_plan(config: Config, symbol: str, as_json: bool) -> int:
    if as_json:
        print(
            json.dumps(
                {
                    "ran": False,
                    "trading_url": config.alpaca.trading_url,
                    "symbol": symbol,
                    "qty": 1,
                    "plan": PLAN,
                },
                indent=2,
            )
        )
        return 0
    print(
        f"probe-alpaca would place and cancel orders of 1 {symbol} on the paper account at "
        f"{config.alpaca.trading_url} (client_order_id probe-...):"
    )
    for step in PLAN:
        print(f"  - {step}")
    print("Nothing was sent. Add --yes to run it (never while the bot trades this symbol).")
    return 0


def _print_table(report: dict[str, Any], findings: list[Any], cleanup: Any) -> None:
    market = "open" if report["market_open"] else f"closed (next open {report['next_open']})"
    print(
        f"probe-alpaca: {report['trading_url']}, 1 {report['symbol']} at about {report['price']:.2f}, "
        f"market {market}\n"
    )
    rows = [("behaviour", "fake assumes", "paper account says")]
    for f in findings:
        says = "not checked" if f.observed is None else f.observed + ("" if f.matches else "  (DIFFERS)")
        rows.append((f.behaviour, f.assumed, says))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for n, row in enumerate(rows):
        print(f"{row[0]:<{widths[0]}} | {row[1]:<{widths[1]}} | {row[2]}")
        if n == 0:
            print(f"{'-' * widths[0]}-+-{'-' * widths[1]}-+-{'-' * 18}")
    print("\ndetails:")
    for f in findings:
        print(f"  {f.behaviour[:3]} paper: {f.detail}\n      fake:  {f.fake_detail}")
    _print_cleanup(cleanup, sys.stdout)


def _print_cleanup(cleanup: Any, stream: Any) -> None:
    print("cleanup:", file=stream)
    for line in cleanup.done:
        print(f"  done: {line}", file=stream)
    for line in cleanup.left:
        print(f"  LEFT: {line}", file=stream)
    if cleanup.clean:
        print("  nothing left open by the probe", file=stream)


def _last_price(config: Config, symbol: str, keys: Any) -> float:
    """The last minute bar's close, from ``alpaca.data_url``: the probe's limit and stop prices
    are set well away from it, so a stale price (market closed) is good enough."""
    from bot.calendar.timeframes import parse_timeframe
    from bot.data.alpaca_feed import AlpacaFeed

    feed = AlpacaFeed.from_config(config, secrets=keys)
    try:
        bars = feed.latest([symbol], parse_timeframe("1Min")).get(symbol)
    finally:
        feed.close()
    if bars is None or bars.empty:
        raise DataError(f"--symbol: no recent trade of {symbol} at Alpaca (is it a US stock symbol?)")
    price = float(bars["close"].iloc[-1])
    if price < 1.0:  # sub-dollar prices take sub-penny increments; not worth the special cases
        raise DataError(f"--symbol: {symbol} trades at {price:g}; choose a stock above $1")
    return price


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
