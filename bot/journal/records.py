"""Typed, frozen rows of the journal, as the read methods of ``bot.journal.reads`` return them.

Times are timezone-aware UTC ``datetime`` (the journal stores them as ISO text written by
``store.iso``, so ``iso(record.ts)`` gives back the stored text). JSON columns (a run's config and
summary) stay text: their readers decide what a damaged value means. Standard library only.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache


@lru_cache(maxsize=64)  # a step spells its decision time several times (decisions, equity, ids)
def iso(ts: datetime) -> str:
    """Journal spelling of a time: ISO 8601 in UTC (sorts as text). A UTC time of years 1000 to
    9999 is spelled field by field, which is ``isoformat``'s text in a third less time (a replay
    spells a new decision time at each of its orders)."""
    if type(ts) is not datetime or ts.tzinfo is not UTC or not 1000 <= ts.year <= 9999:
        return ts.astimezone(UTC).isoformat()  # pandas' Timestamp among them: it spells nanoseconds
    fields = (ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second)
    # %-formatting: an f-string of the same fields took 1.7x as long
    if ts.microsecond:
        return "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00" % (*fields, ts.microsecond)  # noqa: UP031
    return "%04d-%02d-%02dT%02d:%02d:%02d+00:00" % fields  # noqa: UP031


#: the whole second ``spell_utc`` spelled last, and its text: one tuple, read and replaced whole,
#: so threads writing at once never pair one second with another's text
_last_second: tuple[int | None, str] = (None, "")


def now_iso() -> str:
    """``iso`` of the wall clock's now (``datetime.now(UTC).isoformat()``), with the whole second's
    text kept from the last call: a simulation stamps each of its thousands of order records
    with the time it wrote it, and ``isoformat`` cost more than the rest of the record."""
    whole, micro = divmod(time.time_ns() // 1000, 1_000_000)
    return spell_utc(whole, micro)


def spell_utc(whole: int, micro: int) -> str:
    """``isoformat`` of the UTC time ``whole`` seconds and ``micro`` microseconds after the epoch."""
    global _last_second
    second, text = _last_second
    if second != whole:
        text = datetime.fromtimestamp(whole, UTC).isoformat()[:19]
        _last_second = (whole, text)
    return f"{text}.{micro:06d}+00:00" if micro else f"{text}+00:00"


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _time_or_none(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class RunRecord:
    """One row of ``runs``: a simulation, dry run or paper run."""

    run_id: str
    mode: str  # "simulate", "dry-run" or "paper"
    started_at: datetime
    ended_at: datetime | None
    status: str  # "running", "stopped", "completed", ...
    source: str | None
    synthetic: bool
    strategy: str | None
    symbols: tuple[str, ...]
    timeframe: str | None
    config: str | None  # JSON text, as ``start_run`` wrote it
    summary: str | None  # JSON text, as ``end_run`` wrote it

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RunRecord:
        return cls(
            run_id=row["run_id"],
            mode=row["mode"],
            started_at=_time(row["started_at"]),
            ended_at=_time_or_none(row["ended_at"]),
            status=row["status"],
            source=row["source"],
            synthetic=bool(row["synthetic"]),
            strategy=row["strategy"],
            symbols=tuple(row["symbols"].split(",")) if row["symbols"] else (),
            timeframe=row["timeframe"],
            config=row["config"],
            summary=row["summary"],
        )


@dataclass(frozen=True)
class EquityPoint:
    """One row of ``equity``: the account's value at ``ts``."""

    run_id: str
    ts: datetime
    cash: float
    equity: float
    positions_value: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> EquityPoint:
        return cls(row["run_id"], _time(row["ts"]), row["cash"], row["equity"], row["positions_value"])


@dataclass(frozen=True)
class EquityRange:
    """The equity rows of one span: its first and last row and the highest equity among them."""

    first: EquityPoint
    last: EquityPoint
    high: float


@dataclass(frozen=True)
class FillRecord:
    """One row of ``fills``."""

    id: int
    run_id: str
    client_order_id: str
    ts: datetime
    symbol: str
    side: str  # "buy" or "sell"
    qty: int
    price: float
    commission: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> FillRecord:
        return cls(
            row["id"],
            row["run_id"],
            row["client_order_id"],
            _time(row["ts"]),
            row["symbol"],
            row["side"],
            int(row["qty"]),
            float(row["price"]),
            float(row["commission"]),
        )


@dataclass(frozen=True)
class OrderRecord:
    """One row of ``orders``: the request as journaled before it was sent, and its last known state."""

    run_id: str
    client_order_id: str
    symbol: str
    side: str  # "buy" or "sell"
    qty: int
    type: str  # "market", "limit", "stop", ...
    limit_price: float | None
    stop_price: float | None
    protective: bool
    status: str
    reason: str | None
    broker_order_id: str | None
    filled_qty: int
    filled_avg_price: float | None
    created_at: datetime
    updated_at: datetime
    protective_stop: float | None  # an entry's stop, so an order resent after a crash keeps it
    leg_order_id: str | None  # the broker's id of the entry's protective leg

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> OrderRecord:
        return cls(
            run_id=row["run_id"],
            client_order_id=row["client_order_id"],
            symbol=row["symbol"],
            side=row["side"],
            qty=int(row["qty"]),
            type=row["type"],
            limit_price=row["limit_price"],
            stop_price=row["stop_price"],
            protective=bool(row["protective"]),
            status=row["status"],
            reason=row["reason"],
            broker_order_id=row["broker_order_id"],
            filled_qty=int(row["filled_qty"]),
            filled_avg_price=row["filled_avg_price"],
            created_at=_time(row["created_at"]),
            updated_at=_time(row["updated_at"]),
            protective_stop=row["protective_stop"],
            leg_order_id=row["leg_order_id"],
        )


@dataclass(frozen=True)
class ControlRecord:
    """One row of ``control``: a key the bot's processes share (``trading``, ``heartbeat``, ...)."""

    key: str
    value: str
    updated_at: datetime
    updated_by: str | None
    reason: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ControlRecord:
        return cls(row["key"], row["value"], _time(row["updated_at"]), row["updated_by"], row["reason"])


@dataclass(frozen=True)
class PositionRecord:
    """A run's net position in one symbol, rebuilt from its fills."""

    symbol: str
    qty: int  # negative: short
    avg_buy_price: float | None  # of the shares bought; None when the run only sold

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> PositionRecord:
        avg = row["avg_buy_price"]
        return cls(row["symbol"], int(row["qty"]), None if avg is None else float(avg))
