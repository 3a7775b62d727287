"""The daily report end to end: journal -> figures -> PNG -> email -> sent or written to disk.

One function for both callers: the daemon (a background thread after the close, inside its own
try/except) and ``python -m bot report``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import structlog

from bot.config import Config, Secrets, secrets_from_env
from bot.errors import DataError
from bot.journal.store import Journal
from bot.report.daily_data import DailyFigures, NotTradingDay, last_equity_day, load_daily
from bot.report.mail import DeliveryResult, build_message, deliver

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ReportOutcome:
    """status: 'sent' | 'written' (to disk, as asked or as configured) | 'failed' (not sent after
    the retries, kept on disk; or the disk write failed) | 'not_trading_day' (nothing made)."""

    status: str
    day: date
    message: str  # one line for people
    figures: DailyFigures | None = field(default=None, repr=False)  # long: every equity row of the day
    delivery: DeliveryResult | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def __str__(self) -> str:  # what a log line shows
        return f"{self.day.isoformat()} {self.status}: {self.message}"


def make_daily_report(
    config: Config,
    journal_path: Path | str,
    day: date | None = None,
    *,
    run_id: str | None = None,
    send: bool = False,
    secrets: Secrets | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ReportOutcome:
    """Make the report of New York date ``day`` (None: the last date with equity rows).

    Raises ``DataError`` when the journal is missing or holds nothing for that day (a bad request);
    every mail problem is in the outcome instead (``status`` 'failed', files kept on disk).
    ``secrets`` None reads SMTP_PASSWORD from the environment when sending.
    """
    journal_path = Path(journal_path)
    if not journal_path.is_file():
        raise DataError(f"{journal_path}: no journal there (nothing has run with this config yet)")
    journal = Journal(journal_path, readonly=True)
    try:
        if day is None:
            day = last_equity_day(journal, run_id)
        try:
            figures = load_daily(journal, day, run_id)
        except NotTradingDay as exc:
            log.info("daily_report_skipped", day=day.isoformat(), why=exc.why)
            return ReportOutcome("not_trading_day", day, str(exc))
    finally:
        journal.close()

    started = time.perf_counter()
    from bot.report.daily_figure import render_png  # matplotlib: only once there is a report to draw

    png = render_png(figures)
    message = build_message(figures, png, config.email)
    log.info(
        "daily_report_built",
        day=day.isoformat(),
        run=figures.run_id,
        pnl=round(figures.pnl, 2),
        seconds=round(time.perf_counter() - started, 2),
    )
    if send and secrets is None:
        secrets = secrets_from_env()
    result = deliver(
        message, png, config.email, secrets, config.resolve(config.report.dir), send=send, sleep=sleep
    )
    if result.sent:
        status = "sent"
    elif result.error:
        status = "failed"
    else:
        status = "written"
    note = ""
    if send and not config.email.smtp_host and not result.error:
        note = " ([email] smtp_host is empty: nothing sent)"
    return ReportOutcome(status, day, result.describe() + note, figures, result)
