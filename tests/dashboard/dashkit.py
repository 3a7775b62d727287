"""Helpers of the dashboard tests (and its benchmark): a journal written through the journal's
own write API as a paper daemon leaves it, and the real dashboard started as a process."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.broker.base import Fill, Order, OrderRequest, OrderStatus, OrderType, Side
from bot.journal.store import open_journal
from bot.news.base import Headline

REPO = Path(__file__).resolve().parents[2]
RUN_ID = "paper-1"
#: a refused decision's reason, looked for on the page
REFUSED_REASON = "daily loss limit: 8.1 % lost today (limit 8 %)"
STOP_PRICE = 95.0


def _sessions(start: date, days: int) -> list[date]:
    out, day = [], start
    while len(out) < days:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def build_journal(
    path: Path,
    *,
    days: int = 2,
    minutes: int = 30,
    symbols: tuple[str, ...] = ("AAPL", "MSFT"),
    start: date = date(2025, 3, 3),
    decision_every: int = 15,
) -> None:
    """A paper run ``paper-1`` on 1Min Alpaca bars: ``days`` sessions of ``minutes`` bars per
    symbol, an equity row per minute, a decision (and two forecasts) per symbol every
    ``decision_every`` minutes (every third one refused with ``REFUSED_REASON``), a headline per
    day, and at the end 10 AAPL bought at 100 with an open protective stop at ``STOP_PRICE``."""
    with open_journal(path, batch_size=50_000) as journal:
        journal.start_run(
            RUN_ID,
            "paper",
            source="alpaca",
            synthetic=False,
            strategy="lstm_sentiment",
            symbols=list(symbols),
            timeframe="1Min",
            config={
                "model": {"model_id": "lstm-test", "model_status": "active", "model_reason": "beats zero"}
            },
        )
        equity, n = 100_000.0, 0
        for day in _sessions(start, days):
            open_ts = datetime(day.year, day.month, day.day, 14, 30, tzinfo=UTC)
            for m in range(minutes):
                ts = open_ts + timedelta(minutes=m)
                n += 1
                for k, symbol in enumerate(symbols):
                    price = 100.0 + 10 * math.sin(n / 500 + k) + 0.01 * (n % 7)
                    journal.add_bars(
                        "alpaca",
                        symbol,
                        "1Min",
                        [(ts.isoformat(), price, price + 0.1, price - 0.1, price, 1000.0)],
                    )
                    if m % decision_every == 0:
                        refused = (n // decision_every) % 3 == 0
                        journal.add_prediction(RUN_ID, ts, symbol, "lstm-test", 0.001 * math.sin(n))
                        journal.add_prediction(RUN_ID, ts, symbol, "lstm-test/risk", 0.02)
                        journal.add_decision(
                            RUN_ID,
                            ts,
                            strategy="lstm_sentiment",
                            symbol=symbol,
                            target_weight=0.2,
                            current_qty=0,
                            requested_qty=10,
                            approved_qty=0 if refused else 10,
                            verdict="refuse" if refused else "allow",
                            rule="daily_loss" if refused else None,
                            reason=REFUSED_REASON if refused else None,
                            client_order_id=None if refused else f"d-{symbol}-{n}",
                        )
                equity *= 1 + 0.0001 * math.sin(n / 40)
                journal.add_equity(RUN_ID, ts, equity * 0.5, equity, equity * 0.5)
            journal.record_headlines(
                [
                    Headline(
                        source="sample",
                        guid=f"h-{day}",
                        title=f"Apple beats estimates on {day}",
                        published_at=open_ts,
                        fetched_at=open_ts,
                        symbols=("AAPL",),
                        score=0.6,
                        label="positive",
                    )
                ]
            )
        last = open_ts + timedelta(minutes=minutes)
        entry = OrderRequest("entry-1", "AAPL", Side.BUY, 10, protective_stop=STOP_PRICE)
        journal.record_order(RUN_ID, Order(entry, last, OrderStatus.FILLED, 10, 100.0))
        journal.record_fill(RUN_ID, Fill("entry-1", "AAPL", Side.BUY, 10, 100.0, 0.0, last))
        stop = OrderRequest("entry-1-stop", "AAPL", Side.SELL, 10, OrderType.STOP, stop_price=STOP_PRICE)
        journal.record_order(RUN_ID, Order(stop, last, OrderStatus.NEW, protective=True))
        journal.flush()


def start_dashboard(
    config: Path, *args: str, env: dict[str, str] | None = None, cwd: Path = REPO
) -> tuple[subprocess.Popen, str, list[str]]:
    """``python -m bot dashboard --config CONFIG --port 0 ARGS`` as a real process; returns it,
    its URL and the lines it printed up to the URL."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "dashboard", "--config", str(config), "--port", "0", *args],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("dashboard: http://"):
            return proc, line.split()[1], lines
    proc.kill()
    raise AssertionError(f"the dashboard did not start: {lines} {proc.stderr.read()}")


def stop_dashboard(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
