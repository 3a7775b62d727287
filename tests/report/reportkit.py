"""A small journal for the daily-report tests, written through the Journal API.

Run ``dry-1`` (dry-run, AAPL and MSFT, 1Hour bars, SYNTHETIC) has equity rows and bars on the NYSE
sessions of 2024-10-28 .. 2024-12-02 (Thanksgiving 2024-11-28 is closed; 2024-11-29 closes at
13:00, so its rows stop there), plus rows near New York midnight around the end of daylight saving
(2024-11-03) that only a DST-correct day boundary files under the right date:

- 2024-11-01T04:30Z = Fri Nov 1 00:30 EDT  -> Nov 1 (a fixed UTC-5 would say Oct 31)
- 2024-11-04T04:30Z = Sun Nov 3 23:30 EST  -> Nov 3 (a fixed UTC-4 would say Nov 4)
- 2024-11-05T04:30Z = Mon Nov 4 23:30 EST  -> Nov 4 (a fixed UTC-4 would say Nov 5)

A simulation run ``sim-1`` (mode simulate) also has rows on Nov 29: a report prefers the dry run.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.broker.base import Fill, Side
from bot.journal.store import Journal, iso
from risk.killswitch import KillSwitch

NY = ZoneInfo("America/New_York")
RUN = "dry-1"
SESSIONS = [date(2024, 10, 28) + timedelta(days=i) for i in range(36)]
SESSIONS = [d for d in SESSIONS if d.weekday() < 5 and d != date(2024, 11, 28)]
DST_ROWS = {  # ts -> equity
    "2024-11-01T04:30:00+00:00": 100_111.0,
    "2024-11-04T04:30:00+00:00": 100_333.0,
    "2024-11-05T04:30:00+00:00": 100_444.0,
}
# (New York time, symbol, side, qty, price, commission)
FILLS = [
    (datetime(2024, 11, 27, 11, tzinfo=NY), "AAPL", "buy", 10, 100.0, 1.0),
    (datetime(2024, 11, 29, 10, tzinfo=NY), "AAPL", "sell", 4, 105.0, 0.5),  # a win: 105 > 100
    (datetime(2024, 11, 29, 11, tzinfo=NY), "MSFT", "buy", 10, 200.0, 1.25),
    (datetime(2024, 11, 29, 12, tzinfo=NY), "MSFT", "sell", 5, 190.0, 0.75),  # a loss: 190 < 200
]


def equity_at(ts: datetime) -> float:
    k = ts.timestamp() / 3600
    return round(100_000 + 400 * math.sin(k / 17) + 3 * (k % 50), 2)


def price(symbol: str, ts: datetime) -> float:
    k = ts.timestamp() / 3600
    return round((100 if symbol == "AAPL" else 200) * (1 + 0.02 * math.sin(k / 23 + len(symbol))), 4)


def build_journal(path: Path) -> Path:
    j = Journal(path)
    j.start_run(
        RUN,
        "dry-run",
        source="sample",
        synthetic=True,
        strategy="sma_cross",
        symbols=["AAPL", "MSFT"],
        timeframe="1Hour",
        config={},
    )
    j.start_run(
        "sim-1",
        "simulate",
        source="sample",
        synthetic=True,
        strategy="buy_and_hold",
        symbols=["AAPL"],
        timeframe="1Day",
        config={},
    )
    for day in SESSIONS:
        last_hour = 13 if day == date(2024, 11, 29) else 16
        for hour in range(10, last_hour + 1):
            ts = datetime(day.year, day.month, day.day, hour, tzinfo=NY)
            eq = equity_at(ts)
            j.add_equity(RUN, ts, eq - 30_000, eq, 30_000)
            for symbol in ("AAPL", "MSFT"):
                start = ts - timedelta(hours=1)
                p = price(symbol, start)
                j.add_bars("sample", symbol, "1Hour", [(iso(start), p, p + 1, p - 1, p, 1000.0)])
    for ts, eq in DST_ROWS.items():
        j.add_equity(RUN, datetime.fromisoformat(ts), eq - 30_000, eq, 30_000)
    j.add_equity("sim-1", datetime(2024, 11, 29, 18, tzinfo=UTC), 1.0, 50_000.0, 0.0)
    for n, (ts, symbol, side, qty, px, fee) in enumerate(FILLS):
        j.record_fill(RUN, Fill(f"c{n}", symbol, Side(side), qty, px, fee, ts))
    for day, verdict in (
        (date(2024, 11, 27), "halt"),
        (date(2024, 11, 29), "halt"),
        (date(2024, 11, 29), "deny"),
    ):
        j.add_decision(
            RUN,
            datetime(day.year, day.month, day.day, 12, 30, tzinfo=NY),
            strategy="sma_cross",
            symbol="*",
            target_weight=None,
            current_qty=0,
            requested_qty=0,
            approved_qty=0,
            verdict=verdict,
            rule="daily_loss",
            reason="test",
            client_order_id=None,
        )
    j.flush()
    KillSwitch(j).halt("test", "daily loss limit")
    j.close()
    return path
