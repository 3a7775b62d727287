"""The journal's reads: named, typed queries for everything that looks at what the bot recorded
(``status``, the daily report, a daemon resuming its run), so no SQL lives outside ``bot.journal``.

``JournalReads`` is a base of ``bot.journal.store.Journal`` and reads through its one connection.
A read sees what is committed, not rows still in the write buffer (``Journal.flush`` writes them).
Time bounds are aware ``datetime`` and compare as the journal's ISO UTC text (``iso``).

Equity reads take a scope, exactly one of ``run_id`` (that run's rows) and ``mode`` (the rows of
every run of that mode: a restarted daemon carries on the same account in a new run).

Every read returns plain values or frozen records (``bot.journal.records``); ``query`` (ad hoc SQL)
is for tests and diagnostics only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.broker.base import PROTECTIVE_SUFFIX
from bot.journal.records import (
    ControlRecord,
    EquityPoint,
    EquityRange,
    FillRecord,
    OrderRecord,
    PositionRecord,
    RunRecord,
    iso,
)

_RUN_ORDER = "ORDER BY started_at DESC, rowid DESC"


def _scope(run_id: str | None, mode: str | None) -> tuple[str, tuple[str]]:
    """The WHERE clause (and its parameter) of an equity scope: one run, or every run of a mode."""
    if (run_id is None) == (mode is None):
        raise ValueError("an equity read needs exactly one of run_id and mode")
    if run_id is not None:
        return "run_id = ?", (run_id,)
    return "run_id IN (SELECT run_id FROM runs WHERE mode = ?)", (mode,)


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


class JournalReads:
    """Read methods of the journal (mixed into ``Journal``, which opens ``_db``)."""

    _db: sqlite3.Connection

    def _one(self, sql: str, params: Sequence[Any]) -> sqlite3.Row | None:
        return self._db.execute(sql, params).fetchone()

    # -- runs -----------------------------------------------------------------------------------

    def run(self, run_id: str) -> RunRecord | None:
        """The run ``run_id``, or None when the journal has no such run."""
        row = self._one("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        return None if row is None else RunRecord.from_row(row)

    def latest_run(self, mode: str | None = None) -> RunRecord | None:
        """The run started last (of ``mode`` when given; of a tie, the one journaled last)."""
        if mode is None:
            row = self._one(f"SELECT * FROM runs {_RUN_ORDER} LIMIT 1", ())
        else:
            row = self._one(f"SELECT * FROM runs WHERE mode = ? {_RUN_ORDER} LIMIT 1", (mode,))
        return None if row is None else RunRecord.from_row(row)

    def latest_run_with_equity(
        self, start: datetime, end: datetime, *, prefer_modes: Sequence[str] = ()
    ) -> RunRecord | None:
        """The run with equity rows in [start, end) started last, a run of ``prefer_modes`` first
        when one has such rows; None when no run has any."""
        prefer = f"mode IN ({_marks(prefer_modes)}) DESC, " if prefer_modes else ""
        row = self._one(
            "SELECT * FROM runs r WHERE EXISTS (SELECT 1 FROM equity e WHERE e.run_id = r.run_id"
            f" AND e.ts >= ? AND e.ts < ?) ORDER BY {prefer}started_at DESC, rowid DESC LIMIT 1",
            (iso(start), iso(end), *prefer_modes),
        )
        return None if row is None else RunRecord.from_row(row)

    # -- equity ---------------------------------------------------------------------------------

    def equity_between(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        run_id: str | None = None,
        mode: str | None = None,
    ) -> list[EquityPoint]:
        """The scope's equity rows with start <= ts < end (a bound left None is open), oldest first."""
        where, params = _scope(run_id, mode)
        bounds: list[str] = []
        if start is not None:
            where += " AND ts >= ?"
            bounds.append(iso(start))
        if end is not None:
            where += " AND ts < ?"
            bounds.append(iso(end))
        rows = self._db.execute(f"SELECT * FROM equity WHERE {where} ORDER BY ts", (*params, *bounds))
        return [EquityPoint.from_row(r) for r in rows]

    def has_equity_between(
        self, start: datetime, end: datetime, *, run_id: str | None = None, mode: str | None = None
    ) -> bool:
        """Whether the scope has an equity row with start <= ts < end."""
        where, params = _scope(run_id, mode)
        return (
            self._one(
                f"SELECT 1 FROM equity WHERE {where} AND ts >= ? AND ts < ? LIMIT 1",
                (*params, iso(start), iso(end)),
            )
            is not None
        )

    def _equity_row(self, where: str, params: Sequence[Any]) -> EquityPoint | None:
        row = self._one(f"SELECT * FROM equity WHERE {where} LIMIT 1", params)
        return None if row is None else EquityPoint.from_row(row)

    def last_equity_before(
        self, before: datetime, *, run_id: str | None = None, mode: str | None = None
    ) -> EquityPoint | None:
        """The scope's last equity row with ts < ``before`` (e.g. the previous close)."""
        where, params = _scope(run_id, mode)
        return self._equity_row(f"{where} AND ts < ? ORDER BY ts DESC", (*params, iso(before)))

    def equity_at(
        self, at: datetime, *, run_id: str | None = None, mode: str | None = None
    ) -> EquityPoint | None:
        """The scope's equity as of ``at``: its last row with ts <= ``at``."""
        where, params = _scope(run_id, mode)
        return self._equity_row(f"{where} AND ts <= ? ORDER BY ts DESC", (*params, iso(at)))

    def first_equity_since(
        self, start: datetime, *, until: datetime, run_id: str | None = None, mode: str | None = None
    ) -> EquityPoint | None:
        """The scope's first equity row with start <= ts <= until (both ends included)."""
        where, params = _scope(run_id, mode)
        return self._equity_row(
            f"{where} AND ts >= ? AND ts <= ? ORDER BY ts", (*params, iso(start), iso(until))
        )

    def peak_equity(
        self, before: datetime, *, run_id: str | None = None, mode: str | None = None
    ) -> float | None:
        """The highest equity of the scope's rows with ts < ``before``; None without any."""
        where, params = _scope(run_id, mode)
        return self._one(f"SELECT MAX(equity) FROM equity WHERE {where} AND ts < ?", (*params, iso(before)))[
            0
        ]

    def equity_range(
        self, start: datetime, end: datetime, *, run_id: str | None = None, mode: str | None = None
    ) -> EquityRange | None:
        """First row, last row and highest equity of the scope's rows in [start, end); None without any."""
        where, params = _scope(run_id, mode)
        span = (*params, iso(start), iso(end))
        last = self._equity_row(f"{where} AND ts >= ? AND ts < ? ORDER BY ts DESC", span)
        if last is None:
            return None
        first = self._equity_row(f"{where} AND ts >= ? AND ts < ? ORDER BY ts", span)
        high = self._one(f"SELECT MAX(equity) FROM equity WHERE {where} AND ts >= ? AND ts < ?", span)[0]
        assert first is not None
        return EquityRange(first, last, high)

    def last_equity_time(
        self, *, run_id: str | None = None, modes: Sequence[str] | None = None
    ) -> datetime | None:
        """Time of the last equity row: of ``run_id``, else of the runs of ``modes``, else of any
        run; None when there is none."""
        if run_id is not None:
            row = self._one("SELECT MAX(ts) FROM equity WHERE run_id = ?", (run_id,))
        elif modes is not None:
            row = self._one(
                f"SELECT MAX(ts) FROM equity WHERE run_id IN (SELECT run_id FROM runs"
                f" WHERE mode IN ({_marks(modes)}))",
                tuple(modes),
            )
        else:
            row = self._one("SELECT MAX(ts) FROM equity", ())
        return None if row[0] is None else datetime.fromisoformat(row[0])

    # -- decisions, fills, orders ---------------------------------------------------------------

    def halt_count(self, run_id: str, start: datetime, end: datetime) -> int:
        """How many 'halt' decisions the run journaled with start <= ts < end."""
        return self._one(
            "SELECT COUNT(*) FROM decisions WHERE run_id = ? AND verdict = 'halt' AND ts >= ? AND ts < ?",
            (run_id, iso(start), iso(end)),
        )[0]

    def sent_order_times(self, run_id: str) -> list[datetime]:
        """Times of the run's decisions that passed the gate with an order (verdict allow or reduce
        and a client order id), oldest first: what the order-rate limit counts."""
        rows = self._db.execute(
            "SELECT ts FROM decisions WHERE run_id = ? AND client_order_id IS NOT NULL"
            " AND verdict IN ('allow', 'reduce') ORDER BY ts",
            (run_id,),
        )
        return [datetime.fromisoformat(r[0]) for r in rows]

    def fills(self, run_id: str, *, before: datetime | None = None) -> list[FillRecord]:
        """The run's fills (with ts < ``before`` when given), in the order they were journaled."""
        if before is None:
            rows = self._db.execute("SELECT * FROM fills WHERE run_id = ? ORDER BY ts, id", (run_id,))
        else:
            rows = self._db.execute(
                "SELECT * FROM fills WHERE run_id = ? AND ts < ? ORDER BY ts, id", (run_id, iso(before))
            )
        return [FillRecord.from_row(r) for r in rows]

    def orders(self, run_id: str, statuses: Iterable[str] | None = None) -> list[OrderRecord]:
        """The run's orders (those whose status is one of ``statuses`` when given), oldest first."""
        if statuses is None:
            rows = self._db.execute(
                "SELECT * FROM orders WHERE run_id = ? ORDER BY created_at, rowid", (run_id,)
            )
        else:
            wanted = [str(s) for s in statuses]
            rows = self._db.execute(
                f"SELECT * FROM orders WHERE run_id = ? AND status IN ({_marks(wanted)})"
                " ORDER BY created_at, rowid",
                (run_id, *wanted),
            )
        return [OrderRecord.from_row(r) for r in rows]

    # -- control and bars -----------------------------------------------------------------------

    def control_value(self, key: str) -> str | None:
        """The value of a control key (``trading``, ``heartbeat``, ...), None when never set."""
        row = self._one("SELECT value FROM control WHERE key = ?", (key,))
        return None if row is None else row[0]

    def last_close_before(self, source: str, symbol: str, timeframe: str, before: datetime) -> float | None:
        """Close of the last journaled bar that started before ``before``; None without one."""
        row = self._one(
            "SELECT close FROM bars WHERE source = ? AND symbol = ? AND timeframe = ? AND ts < ?"
            " ORDER BY ts DESC LIMIT 1",
            (source, symbol, timeframe, iso(before)),
        )
        return None if row is None else row[0]

    def last_bar_times(self, source: str, timeframe: str, symbols: Sequence[str]) -> dict[str, str]:
        """Start of the latest journaled bar per symbol, as stored (ISO UTC text: bar times are
        spelled by the feed that wrote them); symbols without a bar are left out."""
        found = {}
        for symbol in symbols:
            # one MAX per symbol: SQLite answers it from the primary key's end in O(log n), where
            # a GROUP BY over the symbols reads every bar (seconds on a year of minute bars)
            row = self._one(
                "SELECT MAX(ts) FROM bars WHERE source = ? AND symbol = ? AND timeframe = ?",
                (source, symbol, timeframe),
            )
            if row[0] is not None:
                found[symbol] = row[0]
        return found

    def control(self, key: str) -> ControlRecord | None:
        """The control row ``key`` with who set it, when and why; None when never set."""
        row = self._one("SELECT * FROM control WHERE key = ?", (key,))
        return None if row is None else ControlRecord.from_row(row)

    # -- positions and orders, for reconciliation and the kill switch ---------------------------

    def latest_equity(self, *, run_id: str | None = None, mode: str | None = None) -> EquityPoint | None:
        """The scope's last equity row; None without any."""
        where, params = _scope(run_id, mode)
        return self._equity_row(f"{where} ORDER BY ts DESC", params)

    def positions(self, run_id: str) -> list[PositionRecord]:
        """Net position per symbol, rebuilt from the run's fills (symbols whose shares net to zero are
        left out), by symbol (reconciliation's quantities). ``avg_buy_price`` is the mean of every
        buy of the run, not the cost of what is held: for that,
        ``bot.journal.positions.positions(self.fills(run_id))``."""
        rows = self._db.execute(
            "SELECT symbol, SUM(CASE side WHEN 'buy' THEN qty ELSE -qty END) AS qty,"
            " SUM(CASE side WHEN 'buy' THEN qty * price ELSE 0 END)"
            "   / NULLIF(SUM(CASE side WHEN 'buy' THEN qty ELSE 0 END), 0) AS avg_buy_price"
            " FROM fills WHERE run_id = ? GROUP BY symbol"
            # the aggregate spelled out: in HAVING, a bare "qty" would mean the column, not the alias
            " HAVING SUM(CASE side WHEN 'buy' THEN qty ELSE -qty END) != 0 ORDER BY symbol",
            (run_id,),
        )
        return [PositionRecord.from_row(r) for r in rows]

    def order(self, client_order_id: str) -> OrderRecord | None:
        """The order with this id in any run (ids are unique per decision), newest first."""
        row = self._one(
            "SELECT * FROM orders WHERE client_order_id = ? ORDER BY updated_at DESC LIMIT 1",
            (client_order_id,),
        )
        return None if row is None else OrderRecord.from_row(row)

    def protective_legs(self) -> dict[str, str]:
        """Broker ids of the protective legs this bot placed (every run) -> our ids (``{entry}-stop``)."""
        entries = self._db.execute(
            "SELECT client_order_id, leg_order_id FROM orders WHERE leg_order_id IS NOT NULL"
        ).fetchall()
        # a leg journaled on its own (seen nested once, by reconcile) has its broker id too
        legs = self._db.execute(
            "SELECT client_order_id, broker_order_id FROM orders WHERE protective = 1"
            " AND client_order_id LIKE ? AND broker_order_id IS NOT NULL AND broker_order_id != ''",
            (f"%{PROTECTIVE_SUFFIX}",),
        ).fetchall()
        known = {row["broker_order_id"]: row["client_order_id"] for row in legs}
        return known | {
            row["leg_order_id"]: f"{row['client_order_id']}{PROTECTIVE_SUFFIX}" for row in entries
        }

    def filled_qty(self, run_id: str, client_order_id: str) -> int:
        """Shares of this order already journaled as fills."""
        return self._db.execute(
            "SELECT COALESCE(SUM(qty), 0) FROM fills WHERE run_id = ? AND client_order_id = ?",
            (run_id, client_order_id),
        ).fetchone()[0]

    def count(self, table: str, run_id: str | None = None) -> int:
        if table not in {
            "bars",
            "headlines",
            "predictions",
            "decisions",
            "orders",
            "fills",
            "equity",
            "runs",
        }:
            raise ValueError(f"unknown table {table}")
        if run_id is None or table in {"bars", "headlines"}:
            return self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        return self._db.execute(f"SELECT COUNT(*) FROM {table} WHERE run_id = ?", (run_id,)).fetchone()[0]

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Ad hoc read-only SQL, for tests and diagnostics: code reads through a named method above."""
        return self._db.execute(sql, params).fetchall()
