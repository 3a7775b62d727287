"""``python -m bot run``: the daemon (see ``bot.daemon``)."""

from __future__ import annotations

import argparse

from bot.commands.common import load, new_run_id, start_logging
from bot.config import override
from bot.errors import ConfigError

DEFAULT_SPEED = 60.0


def run(args: argparse.Namespace) -> int:
    config = load(args.config)
    config = override(
        config,
        "data",
        "command line",
        symbols=args.symbols,
        start=args.start,
        end=args.end,
        timeframe=args.timeframe,
    )
    config = override(config, "strategy", "command line", name=args.strategy)
    if args.source is not None:
        config = override(config, "data", "command line", source=args.source)  # validated like the file
    if args.speed is not None and not args.speed > 0:
        raise ConfigError(f"command line: --speed must be > 0, got {args.speed:g}")
    if args.speed is not None and args.source is None:
        raise ConfigError("command line: --speed paces a replay: give --source sample|csv:DIR|alpaca too")
    mode = "dry-run" if args.dry_run else "paper"
    start_logging(
        config, mode, new_run_id(), writable=("journal.dry_run_path",) if args.dry_run else ("journal.path",)
    )
    from bot.daemon.runner import run_daemon

    code = run_daemon(
        config,
        dry_run=args.dry_run,
        replay_source=args.source,
        new_run=args.new_run,
        speed=args.speed or DEFAULT_SPEED,
        config_path=args.config,
    )
    # the journal is closed and the lock released: leave now rather than wait for a report or a
    # news fetch still running on its own thread (both are best effort and redone after a start)
    import logging
    import os
    import sys

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
