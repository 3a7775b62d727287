"""``python -m bot kill`` and ``python -m bot resume``: flip the durable kill switch.

Light: standard library, config and journal only. The Alpaca broker (and alpaca-py) is imported
only when keys are present in the environment, inside the call that reaches the broker.
The halt is written to the journal *before* the broker is reached, so even if the broker call
fails the bot stays halted.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
from typing import Any

from bot.commands.common import load
from bot.config import Config, secrets_from_env
from bot.journal import open_journal
from risk.killswitch import KillSwitch


def who() -> str:
    """``user@host pid N``: who flipped the switch, for the journal."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers; the pid still identifies the process
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def _switch(config: Config) -> tuple[Any, KillSwitch]:
    journal = open_journal(config.resolve(config.journal.path), batch_size=config.journal.batch_size)
    return journal, KillSwitch(journal)


def flatten_at_broker(config: Config, *, keep_positions: bool) -> list[str]:
    """Cancel every open order and (unless ``keep_positions``) close every position at Alpaca.
    Returns lines saying what was done; empty when no keys are set (no broker reached)."""
    secrets = secrets_from_env()
    if not (secrets.alpaca_key and secrets.alpaca_secret):
        return []
    from bot.broker.alpaca import AlpacaBroker

    broker = AlpacaBroker(config.alpaca, secrets)
    cancelled = broker.cancel_all()
    lines = [f"broker: cancelled {len(cancelled)} open order(s)"]
    lines += [f"  cancelled {o.client_order_id} {o.request.side} {o.request.qty} {o.symbol}" for o in cancelled]
    if keep_positions:
        lines.append("broker: positions kept (--keep-positions)")
    else:
        closes = broker.close_all()
        lines.append(f"broker: sent {len(closes)} closing order(s)")
        lines += [f"  close {o.request.side} {o.request.qty} {o.symbol}" for o in closes]
    return lines


def kill(args: argparse.Namespace) -> int:
    config = load(args.config)
    journal, switch = _switch(config)
    try:
        switch.halt(who(), args.reason or "manual kill")
        state = switch.state()
    finally:
        journal.close()
    print(f"HALTED: trading is halted in {journal.path} ({state.reason}; by {state.by} at {state.at})")
    lines = flatten_at_broker(config, keep_positions=args.keep_positions)
    if lines:
        print("\n".join(lines))
    else:
        print("no Alpaca keys in the environment: the journal is halted, no broker was reached")
    return 0


def resume(args: argparse.Namespace) -> int:
    config = load(args.config)
    journal, switch = _switch(config)
    try:
        was = switch.state()
        switch.resume(who(), args.reason or "manual resume")
    finally:
        journal.close()
    print(f"RESUMED: trading is allowed again in {journal.path}"
          + ("" if was.halted else " (it was not halted)"))  # fmt: skip
    return 0
