"""The equity curves the dashboard draws: today's (the last equity row's New York day) and since
the start (one point per day), each against an equal-weight buy and hold of the run's symbols.

Bounded on a big journal: today reads one day's rows; since-the-start keeps its daily points in
``EquityCache`` and re-reads only the last day on each request (past days never change).
Buy and hold: the same starting equity spread equally over the symbols at their first close at
or after the curve's first row, valued at each point's last close. Standard library only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from bot.calendar.timeframes import NEW_YORK
from bot.journal import recent
from bot.journal.records import RunRecord

#: most points drawn per curve (a minute-bar day has 390)
MAX_POINTS = 400


@dataclass(frozen=True)
class Curve:
    """Times (ISO UTC) with the account's equity and the buy and hold's (None where no bar)."""

    times: list[str]
    equity: list[float]
    hold: list[float | None]

    def summary(self) -> dict[str, Any]:
        """First and last equity, its return and the buy and hold's (fractions), for the page."""
        if not self.equity:
            return {"points": 0}
        first, last = self.equity[0], self.equity[-1]
        holds = [h for h in self.hold if h is not None]
        return {
            "points": len(self.equity),
            "start": self.times[0],
            "end": self.times[-1],
            "first": round(first, 2),
            "last": round(last, 2),
            "return": round(last / first - 1, 6) if first else None,
            "hold_return": round(holds[-1] / first - 1, 6) if holds and first else None,
        }


def scope(run: RunRecord) -> dict[str, str]:
    """The account's rows: a simulation's own run, else every run of its mode (as ``status``)."""
    return {"run_id": run.run_id} if run.mode == "simulate" else {"mode": run.mode}


def _thin(n: int, limit: int = MAX_POINTS) -> list[int]:
    """Indexes of at most ``limit`` evenly spread points of ``n``, the last one always kept."""
    if n <= limit:
        return list(range(n))
    step = n / limit
    picked = sorted({int(i * step) for i in range(limit)} | {n - 1})
    return picked


def _hold_starts(journal: Any, run: RunRecord, at: str) -> dict[str, float]:
    found = {
        s: recent.first_close(journal, run.source or "", run.timeframe or "", s, at) for s in run.symbols
    }
    return {s: p for s, p in found.items() if p}


def _hold_value(start_equity: float, starts: dict[str, float], closes: dict[str, float]) -> float | None:
    if not starts or any(s not in closes for s in starts):
        return None
    return start_equity * sum(closes[s] / p for s, p in starts.items()) / len(starts)


def today_curve(journal: Any, run: RunRecord) -> Curve:
    """The equity rows of the New York day of the account's last row (a replay's day in a replay)."""
    where = scope(run)
    last = journal.last_equity_time(
        **({"run_id": run.run_id} if "run_id" in where else {"modes": [run.mode]})
    )
    if last is None:
        return Curve([], [], [])
    day = last.astimezone(NEW_YORK).date()
    start = datetime.combine(day, time(0), NEW_YORK)
    rows = recent.equity_rows(journal, start, start + timedelta(days=1), **where)
    rows = [rows[i] for i in _thin(len(rows))]
    if not rows:
        return Curve([], [], [])
    times = [ts for ts, _ in rows]
    starts = _hold_starts(journal, run, times[0])
    closes_by_symbol = {
        s: recent.closes_between(journal, run.source or "", run.timeframe or "", s, times[0], times[-1] + "~")
        for s in starts
    }
    hold: list[float | None] = []
    cursor = dict.fromkeys(starts, 0)
    current: dict[str, float] = {}
    for ts in times:  # walk each symbol's bars along the equity times (both sorted)
        for s, bars in closes_by_symbol.items():
            while cursor[s] < len(bars) and bars[cursor[s]][0] <= ts:
                current[s] = bars[cursor[s]][1]
                cursor[s] += 1
        hold.append(_hold_value(rows[0][1], starts, current))
    return Curve(times, [e for _, e in rows], hold)


@dataclass
class _Days:
    points: list[tuple[str, str, float, float | None]] = field(default_factory=list)  # day, ts, eq, hold
    starts: dict[str, float] = field(default_factory=dict)
    first_equity: float = 0.0


class EquityCache:
    """Daily points since the start, per (run scope), and today's curve until a new equity row
    comes; thread-safe (the server is threaded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._days: dict[tuple[str, ...], _Days] = {}
        self._today: dict[tuple[str, ...], tuple[object, Curve]] = {}

    def today(self, journal: Any, run: RunRecord) -> Curve:
        """``today_curve``, read again only when the account's last equity row changed."""
        where = scope(run)
        key = (str(journal.path), *where.values())
        last = journal.last_equity_time(
            **({"run_id": run.run_id} if "run_id" in where else {"modes": [run.mode]})
        )
        with self._lock:
            kept = self._today.get(key)
            if kept is not None and kept[0] == last:
                return kept[1]
        curve = today_curve(journal, run)
        with self._lock:
            self._today[key] = (last, curve)
        return curve

    def since_start(self, journal: Any, run: RunRecord) -> Curve:
        where = scope(run)
        key = (str(journal.path), *where.values())
        with self._lock:
            days = self._days.setdefault(key, _Days())
            since = days.points[-1][0] if days.points else ""
            fresh = recent.daily_equity(journal, since_day=since, **where)
            if fresh and not days.points:
                days.first_equity = fresh[0][2]
                days.starts = _hold_starts(journal, run, fresh[0][1])
            kept = [p for p in days.points if p[0] < since] if since else []
            for day, ts, equity in fresh:
                closes = {
                    s: c
                    for s in days.starts
                    if (c := recent.close_at(journal, run.source or "", run.timeframe or "", s, ts))
                    is not None
                }
                kept.append((day, ts, equity, _hold_value(days.first_equity, days.starts, closes)))
            days.points = kept
            points = [kept[i] for i in _thin(len(kept))]
        return Curve([p[1] for p in points], [p[2] for p in points], [p[3] for p in points])
