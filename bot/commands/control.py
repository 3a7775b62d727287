"""``python -m bot kill`` and ``python -m bot resume``: flip the durable kill switch.

Light: standard library, config and journal only. The Alpaca broker (and alpaca-py) is imported
only when keys are present in the environment, inside the call that reaches the broker.
The halt is written to the journal *before* the broker is reached, so even if the broker call
fails the bot stays halted.

``--dry-run`` addresses the dry run's journal (``journal.dry_run_path``) and never reaches Alpaca:
the dry run's orders and positions live in the daemon's simulated broker, which cancels and (unless
``--keep-positions``) flattens them itself when it notices the halt.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sqlite3
import sys

from bot.commands.common import journal_key, journal_path, load
from bot.config import Config, secrets_from_env
from bot.errors import JournalError
from bot.journal.heartbeat import liveness, read_heartbeat
from bot.journal.store import Journal, open_journal, unusable
from risk.halt_file import halt_file_for
from risk.killswitch import KillSwitch


def who() -> str:
    """``user@host pid N``: who flipped the switch, for the journal."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers; the pid still identifies the process
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def _switch(config: Config, dry_run: bool) -> tuple[Journal, KillSwitch]:
    journal = open_journal(
        journal_path(config, dry_run), batch_size=config.journal.batch_size, key=journal_key(dry_run)
    )
    return journal, KillSwitch(journal)


def daemon_line(journal: Journal, config: Config) -> str:
    """Whether a daemon is beating on this journal (it then stops deciding on its own)."""
    beat = read_heartbeat(journal)
    if beat is None:
        return "daemon: none has run on this journal (one started later stays halted)"
    age = beat.age_seconds()
    state, reason = liveness(beat, config.daemon.heartbeat_max_age_seconds)
    if state != "running":
        return f"daemon: not running ({reason}); one started later stays halted"
    return (
        f"daemon: alive ({beat.by}, heartbeat {age:.0f} s ago); it stops deciding within "
        f"{config.daemon.kill_poll_seconds:g} s"
    )


def flatten_at_broker(config: Config, *, keep_positions: bool) -> list[str]:
    """Cancel every open order and (unless ``keep_positions``) close every position at Alpaca.
    Returns lines saying what was done; empty when no keys are set (no broker reached)."""
    secrets = secrets_from_env()
    if not (secrets.alpaca_key and secrets.alpaca_secret):
        return []
    from bot.broker.alpaca import AlpacaBroker
    from bot.logging import configure_logging

    configure_logging(None)  # broker warnings to stderr (redacted), never mixed into stdout
    broker = AlpacaBroker(config.alpaca, secrets)
    cancelled = broker.cancel_all()
    lines = [f"broker: cancelled {len(cancelled)} open order(s)"]
    lines += [
        f"  cancelled {o.client_order_id} {o.request.side} {o.request.qty} {o.symbol}" for o in cancelled
    ]
    if keep_positions:
        lines.append("broker: positions kept (--keep-positions)")
    else:
        closes = broker.close_all()
        lines.append(f"broker: sent {len(closes)} closing order(s)")
        lines += [f"  close {o.request.side} {o.request.qty} {o.symbol}" for o in closes]
    return lines


def kill(args: argparse.Namespace) -> int:
    """Halt durably, then flatten. The halt file is written first (milliseconds, whatever state
    the journal is in), then the journal; exit 0 when at least one of them took the halt (the
    output says which), 2 when neither could. The broker is flattened either way."""
    config = load(args.config)
    dry_run = bool(getattr(args, "dry_run", False))
    keep = bool(args.keep_positions)
    by, reason = who(), args.reason or "manual kill"
    path = journal_path(config, dry_run)
    switch = KillSwitch(None, halt_file=halt_file_for(path))
    recorded, problems = [], []
    try:
        switch.record_halt_file(by, reason, keep_positions=keep)
        recorded.append(f"halt file {switch.halt_file}")
    except OSError as exc:
        problems.append(f"halt file {switch.halt_file}: {exc.strerror or exc}")
    daemon = None
    try:
        journal = open_journal(path, batch_size=config.journal.batch_size, key=journal_key(dry_run))
        try:
            KillSwitch(journal, halt_file=switch.halt_file).record_halt_journal(
                by, reason, keep_positions=keep
            )
            recorded.append(f"journal {path}")
            daemon = daemon_line(journal, config)
        finally:
            journal.close()
    except sqlite3.DatabaseError as exc:  # the journal opened, but would not take the write
        problems.append(f"journal: {unusable(journal_key(dry_run), path, exc)}")
    except (JournalError, OSError) as exc:
        problems.append(f"journal: {exc}")
    if not recorded:
        print(f"error: the halt could not be recorded anywhere: {'; '.join(problems)}", file=sys.stderr)
        return 2
    print(
        f"HALTED: trading is halted ({reason}; by {by}), recorded in {' and '.join(recorded)}"
        + (" keeping positions" if keep else "")
    )
    for problem in problems:
        print(f"warning: not recorded in the {problem}; the halt holds anyway", file=sys.stderr)
    if daemon:
        print(daemon)
    if dry_run:
        print(
            "dry run: no broker was reached; the dry-run daemon's simulated broker cancels its orders"
            + (" (positions kept)" if keep else " and closes its positions")
            + " when it notices the halt"
        )
        return 0
    lines = flatten_at_broker(config, keep_positions=keep)
    if lines:
        print("\n".join(lines))
    else:
        print("no Alpaca keys in the environment: trading is halted, no broker was reached")
    return 0


def resume(args: argparse.Namespace) -> int:
    config = load(args.config)
    journal, switch = _switch(config, bool(getattr(args, "dry_run", False)))
    try:
        was = switch.state()
        switch.resume(who(), args.reason or "manual resume")
    finally:
        journal.close()
    print(
        f"RESUMED: trading is allowed again in {journal.path}"
        + ("" if was.halted else " (it was not halted)")
    )
    return 0
