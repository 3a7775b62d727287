"""Journals for the daily figure's edge cases: a run with equity rows on the last ``sessions`` NYSE
sessions up to ``LAST_DAY`` (optionally one session left without rows), half-hourly rows and bars,
and ``trades`` fills on the last day. Written through the Journal API."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.broker.base import Fill, Side
from bot.calendar.exchange import xnys
from bot.journal.store import Journal, iso

NY = ZoneInfo("America/New_York")
RUN = "dry-fig"
LAST_DAY = date(2024, 12, 3)
SYMBOLS = ("ACME", "HOOL")


def sessions_before(last: date, count: int) -> list[date]:
    calendar = xnys(last.year - 1, last.year)
    return [ts.date() for ts in calendar.sessions_window(last.isoformat(), -count)]


def build_figure_journal(
    path: Path, sessions: int, trades: int, *, gap: bool = False, rows: int = 14
) -> Path:
    """``gap``: the session before the last has no rows (a daemon that was down that day);
    ``rows``: equity rows a session, half an hour apart (1: a run on daily bars)."""
    days = sessions_before(LAST_DAY, sessions)
    if gap and len(days) > 2:
        days.pop(-2)
    j = Journal(path)
    j.start_run(
        RUN,
        "dry-run",
        source="sample",
        synthetic=True,
        strategy="sma_cross",
        symbols=list(SYMBOLS),
        timeframe="30Min",
        config={},
    )
    for n, day in enumerate(days):
        opens = datetime(day.year, day.month, day.day, 9, 30, tzinfo=NY)
        for k in range(rows):
            ts = opens + timedelta(minutes=30 * k)
            eq = 100_000 + 1500 * math.sin(n / 4 + k / 20) + 40 * n
            j.add_equity(RUN, ts, 60_000.0, eq, eq - 60_000.0)
            for s, symbol in enumerate(SYMBOLS):
                p = (40 + 250 * s) * (1 + 0.03 * math.sin(n / 5 + k / 13 + s))
                j.add_bars("sample", symbol, "30Min", [(iso(ts), p, p * 1.001, p * 0.999, p, 1e4)])
    last = days[-1]
    opens = datetime(last.year, last.month, last.day, 9, 31, tzinfo=NY)
    for i in range(trades):
        ts = opens + timedelta(seconds=i * (6 * 3600 // max(trades, 1)))
        side = Side.BUY if i % 2 == 0 else Side.SELL
        j.record_fill(RUN, Fill(f"c{i}", SYMBOLS[i % 4 // 2], side, 10 + i % 7, 41.0 + (i % 9) / 10, 0.0, ts))
    j.flush()
    j.close()
    return path
