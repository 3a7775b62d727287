"""``status`` and the daily report read the same average cost from the journal (issue 17's
scenario: several round trips, then a buy of 468 at 41.47 -> both say 41.47, to the cent)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.broker.base import Fill, Side
from bot.config import load_config
from bot.journal.store import Journal, iso
from bot.report.daily_data import load_daily
from bot.report.daily_text import text_body
from bot.status.text import format_status
from bot.status.view import collect

from testkit import write_config

NY = ZoneInfo("America/New_York")
DAY = date(2024, 12, 3)
# (New York time, side, qty, price): three round trips (one with a partial exit), then the buy
FILLS = [
    ((10, 0), "buy", 500, 39.10),
    ((10, 30), "sell", 500, 39.80),
    ((11, 0), "buy", 480, 40.05),
    ((11, 30), "sell", 200, 40.60),
    ((12, 0), "sell", 280, 40.20),
    ((13, 0), "buy", 300, 39.00),
    ((13, 30), "sell", 300, 38.70),
    ((14, 11), "buy", 468, 41.47),
]


def _journal(path: Path) -> Path:
    j = Journal(path)
    j.start_run(
        "dry-1",
        "dry-run",
        source="replay:sample",
        synthetic=True,
        strategy="sma_cross",
        symbols=["ACME"],
        timeframe="1Min",
        config={},
    )
    for n, ((hour, minute), side, qty, price) in enumerate(FILLS):
        ts = datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=NY)
        j.record_fill("dry-1", Fill(f"c{n}", "ACME", Side(side), qty, price, 0.0, ts))
        j.add_equity("dry-1", ts, 80_000.0, 100_000.0 + n, 20_000.0)
        j.add_bars("replay:sample", "ACME", "1Min", [(iso(ts), price, price, price, price, 100.0)])
    j.flush()
    j.close()
    return path


def test_status_and_the_daily_report_agree_to_the_cent(tmp_path: Path):
    path = _journal(tmp_path / "dry_run.sqlite")
    config = load_config(write_config(tmp_path))
    with Journal(path, readonly=True) as j:
        info = collect(j, config)
        figures = load_daily(j, DAY, run_id="dry-1")
    (status_position,) = info["positions"]
    (report_holding,) = figures.positions
    assert status_position["qty"] == report_holding.qty == 468
    assert round(status_position["avg_price"], 2) == round(report_holding.avg_cost, 2) == 41.47
    # and both print it so
    assert "ACME          468 sh @      41.47" in format_status({"journal": str(path), **info})
    assert "468  " in text_body(figures) and "41.47" in text_body(figures)
