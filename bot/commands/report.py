"""``python -m bot report [--date YYYY-MM-DD] [--send] [--dry-run]``: the daily report on demand.

Exit codes: 0 made (sent or written) or "not a trading day"; 2 bad --date, no journal, no data for
the date; 1 when it could not be sent after the retries (the files are kept and named).
No TensorFlow here: the report needs the journal, exchange_calendars and matplotlib only.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from bot.commands.common import journal_path, load, new_run_id, start_logging
from bot.errors import ConfigError


def parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"command line: --date: expected a date YYYY-MM-DD, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    config = load(args.config)
    day = parse_day(args.date)
    start_logging(config, "report", new_run_id(), writable=("report.dir",))
    from bot.report.daily_job import make_daily_report

    outcome = make_daily_report(config, journal_path(config, args.dry_run), day, send=args.send)
    if outcome.status == "not_trading_day":
        print(outcome.message)
        return 0
    f = outcome.figures
    if f is not None:
        from bot.report.daily_text import subject_of

        print(f"{subject_of(f)} (run {f.run_id}, {len(f.trades)} trades)")
    if not outcome.ok:
        print(f"error: {outcome.message}", file=sys.stderr)
        return 1
    print(outcome.message)
    return 0
