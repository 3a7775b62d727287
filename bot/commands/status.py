"""``python -m bot status [--json] [--dry-run] [--check]``: halt state, the daemon's heartbeat, the
last run, positions with stops, open orders, today's PnL against the daily loss limit and the last
bar per symbol.

Reads the journal (never writes it); positions and open orders come from Alpaca when keys are set
and the broker answers (``bot.status.broker``), else from the journal. ``--check`` exits 1 when
the heartbeat is missing or older than ``daemon.heartbeat_max_age_seconds`` (for cron/systemd).
Light: no pandas, no TensorFlow unless the broker is read (alpaca-py brings pandas).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.commands.common import journal_key, journal_path, load
from bot.config import secrets_from_env
from bot.errors import JournalError
from bot.journal.store import Journal
from bot.status.view import check, collect
from risk.halt_file import halt_file_for, read_halt_file


def gather(config: Any, dry_run: bool, *, broker: bool = True) -> tuple[dict[str, Any], bool]:
    """(status info, whether the journal exists); ``broker`` False skips the broker read."""
    path = journal_path(config, dry_run)
    exists = path.exists()
    journal = Journal(path, readonly=True, key=journal_key(dry_run)) if exists else None
    try:
        info = {"journal": str(path), "dry_run": dry_run, **collect(journal, config)}
        legs = journal.protective_legs() if journal is not None else {}
    finally:
        if journal is not None:
            journal.close()
    if broker:
        from bot.status.broker import broker_configured

        secrets = secrets_from_env()
        if broker_configured(dry_run, secrets):
            from bot.status.broker import apply_broker

            apply_broker(info, config, secrets, legs=legs)
    return info, exists


def _with_halt_file(message: str, journal: Path) -> str:
    halt = read_halt_file(halt_file_for(journal))
    if halt is None:
        return message
    return (
        f"{message}\nTRADING HALTED (halt file {halt_file_for(journal)}): {halt.get('reason')} "
        f"(by {halt.get('by')}, at {halt.get('at')})"
    )


def run(args: argparse.Namespace) -> int:
    config = load(args.config)
    dry_run = bool(getattr(args, "dry_run", False))
    want_check = bool(getattr(args, "check", False))
    # --check alone is a liveness probe: the journal only, never the broker
    try:
        info, exists = gather(config, dry_run, broker=args.json or not want_check)
    except JournalError as exc:  # exit 2 all the same, but a halt the file holds is still told
        raise JournalError(_with_halt_file(str(exc), journal_path(config, dry_run))) from None
    if want_check:
        code, line = check(info, exists)
        if args.json:
            print(json.dumps(info))
            print(line, file=sys.stderr)
        else:
            print(line)
        return code
    if args.json:
        print(json.dumps(info))
    else:
        from bot.status.text import format_status

        print(format_status(info))
    return 0
