"""Bounded reads for the web dashboard (``bot.dashboard``): the last N decisions, predictions and
headlines, one equity point per day, and the equity and bar rows of one span.

Each read is bounded by an index or by ``LIMIT`` over the newest rows, so a page stays fast on a
journal holding years of minute bars: decisions through ``decisions_run (run_id, ts)``, headlines
through ``headlines_published``, predictions through their rowid (the newest are the last
inserted; the table has no index of its own), equity and bars through their primary keys.
Functions over a ``Journal`` (its public ``query``), kept here so no SQL lives outside
``bot.journal``. Standard library only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.journal.records import iso


def _scope(run_id: str | None, mode: str | None) -> tuple[str, tuple[str, ...]]:
    if (run_id is None) == (mode is None):
        raise ValueError("an equity read needs exactly one of run_id and mode")
    if run_id is not None:
        return "run_id = ?", (run_id,)
    return "run_id IN (SELECT run_id FROM runs WHERE mode = ?)", (mode,)


def recent_decisions(journal: Any, run_id: str, limit: int) -> list[dict[str, Any]]:
    """The run's last ``limit`` decisions, newest first, as dicts of their columns."""
    rows = journal.query(
        "SELECT ts, symbol, target_weight, current_qty, requested_qty, approved_qty, verdict, rule,"
        " reason, client_order_id FROM decisions WHERE run_id = ? ORDER BY ts DESC, id DESC LIMIT ?",
        (run_id, limit),
    )
    return [dict(r) for r in rows]


def latest_predictions(journal: Any, run_id: str, scan: int = 100) -> list[dict[str, Any]]:
    """The newest prediction per (symbol, model) among the journal's last ``scan`` prediction rows
    of the run (the newest rows are the last inserted: read backwards by rowid)."""
    rows = journal.query(
        "SELECT ts, symbol, model, value FROM predictions WHERE rowid > "
        "(SELECT COALESCE(MAX(rowid), 0) FROM predictions) - ? AND run_id = ? ORDER BY rowid DESC",
        (scan, run_id),
    )
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["symbol"], row["model"])
        if key not in seen:
            seen[key] = dict(row)
    return sorted(seen.values(), key=lambda p: (p["symbol"], p["model"]))


def recent_headlines(journal: Any, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` most recently published headlines, newest first (no summary, no link text
    beyond the link itself)."""
    rows = journal.query(
        "SELECT published_at, source, title, link, symbols, score, label FROM headlines"
        " WHERE published_at IS NOT NULL ORDER BY published_at DESC LIMIT ?",
        (limit,),
    )
    return [dict(r) for r in rows]


def daily_equity(
    journal: Any, *, since_day: str = "", run_id: str | None = None, mode: str | None = None
) -> list[tuple[str, str, float]]:
    """(UTC day, ts, equity) of the scope's last equity row of each UTC day from ``since_day``
    (an ISO date; '' = the start), oldest first. A later call from the last day returned reads
    only that day's rows: what ``bot.dashboard.equity`` caches."""
    where, params = _scope(run_id, mode)
    # SQLite returns the other columns of the row holding MAX(ts) (its documented bare-column rule)
    rows = journal.query(
        f"SELECT substr(ts, 1, 10) AS day, MAX(ts) AS ts, equity FROM equity WHERE {where}"
        " AND ts >= ? GROUP BY day ORDER BY day",
        (*params, since_day),
    )
    return [(r["day"], r["ts"], float(r["equity"])) for r in rows]


def equity_rows(
    journal: Any, start: datetime, end: datetime, *, run_id: str | None = None, mode: str | None = None
) -> list[tuple[str, float]]:
    """(ts, equity) of the scope's rows with start <= ts < end, oldest first."""
    where, params = _scope(run_id, mode)
    rows = journal.query(
        f"SELECT ts, equity FROM equity WHERE {where} AND ts >= ? AND ts < ? ORDER BY ts",
        (*params, iso(start), iso(end)),
    )
    return [(r[0], float(r[1])) for r in rows]


def closes_between(
    journal: Any, source: str, timeframe: str, symbol: str, start: str, end: str
) -> list[tuple[str, float]]:
    """(ts, close) of the symbol's journaled bars with start <= ts < end (ISO text), oldest first."""
    rows = journal.query(
        "SELECT ts, close FROM bars WHERE source = ? AND symbol = ? AND timeframe = ?"
        " AND ts >= ? AND ts < ? ORDER BY ts",
        (source, symbol, timeframe, start, end),
    )
    return [(r[0], float(r[1])) for r in rows]


def close_at(journal: Any, source: str, timeframe: str, symbol: str, at: str) -> float | None:
    """Close of the symbol's last journaled bar starting at or before ``at`` (ISO text)."""
    rows = journal.query(
        "SELECT close FROM bars WHERE source = ? AND symbol = ? AND timeframe = ? AND ts <= ?"
        " ORDER BY ts DESC LIMIT 1",
        (source, symbol, timeframe, at),
    )
    return float(rows[0][0]) if rows else None


def first_close(journal: Any, source: str, timeframe: str, symbol: str, at: str) -> float | None:
    """Close of the symbol's first journaled bar at or after ``at`` (ISO text)."""
    rows = journal.query(
        "SELECT close FROM bars WHERE source = ? AND symbol = ? AND timeframe = ? AND ts >= ?"
        " ORDER BY ts LIMIT 1",
        (source, symbol, timeframe, at),
    )
    return float(rows[0][0]) if rows else None
