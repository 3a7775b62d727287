"""What ``python -m bot status`` knows from the journal alone: the kill switch, the daemon's
heartbeat, the last run, its positions (with stops) and open orders, today's PnL against the daily
loss limit and the last bar per symbol. ``bot.status.broker`` replaces positions and open orders by
the broker's when one is reachable; ``bot.status.text`` prints the result.

``read_status`` returns it typed (``StatusInfo``); ``collect`` returns it as the dict that
``status --json`` prints, whose keys are the field names of these dataclasses. Positions and open
orders stay dicts (``position_dict``, ``order_dict``): the broker read builds the same shape.

Light: standard library, config and journal only (no pandas, no TensorFlow).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any, Self

from bot.calendar.timeframes import NEW_YORK
from bot.config import Config
from bot.journal.heartbeat import liveness, read_heartbeat
from bot.journal.positions import positions
from bot.journal.records import RunRecord
from bot.journal.store import Journal, iso
from risk.killswitch import KillSwitch

#: journal statuses of an order still working at the broker
OPEN_STATUSES = ("pending", "new")


class _Keys:
    """A dataclass whose field names are its keys in ``status --json``."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, info: Mapping[str, Any]) -> Self:
        """The fields read back from ``info`` (which may hold other keys too)."""
        return cls(**{f.name: info[f.name] for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class HaltInfo(_Keys):
    """The kill switch."""

    halted: bool
    halt_reason: str | None
    halted_at: str | None  # ISO UTC
    halted_by: str | None
    halt_keep_positions: bool


@dataclass(frozen=True)
class HeartbeatInfo(_Keys):
    """The daemon's last heartbeat (all None but the limit when no daemon ever beat)."""

    heartbeat_at: str | None  # ISO UTC
    heartbeat_age_seconds: float | None
    heartbeat_by: str | None
    heartbeat_detail: dict[str, Any] | None
    heartbeat_max_age_seconds: float
    daemon_alive: bool
    #: ``bot.journal.heartbeat.liveness``: none, stopped, dead, stale or running (the only alive one)
    daemon_state: str
    daemon_reason: str  # why it is not running ("" when it is)


@dataclass(frozen=True)
class TodayInfo(_Keys):
    """Today's PnL against the daily loss limit (the figures None when no equity was recorded)."""

    date: str  # New York date, ISO
    pnl: float | None
    pnl_pct: float | None  # a fraction
    day_start_equity: float | None
    equity: float | None
    daily_loss_limit_pct: float | None  # None when the limit is off
    loss_limit_left: float | None


@dataclass(frozen=True)
class ModelInfo(_Keys):
    """The model a run started with: both heads' verdicts (values as the run's config holds them)."""

    model_id: Any
    model_status: Any
    model_reason: Any
    risk_model_status: Any
    risk_model_reason: Any


@dataclass(frozen=True)
class RunInfo(_Keys):
    """The last run, as status shows it."""

    run_id: str
    mode: str
    status: str
    started_at: str  # ISO UTC
    ended_at: str | None
    source: str | None
    synthetic: bool
    strategy: str | None
    symbols: list[str]
    timeframe: str | None
    report_dir: str | None
    model: ModelInfo | None

    @classmethod
    def from_dict(cls, info: Mapping[str, Any]) -> Self:
        model = info["model"]
        return dataclasses.replace(
            super().from_dict(info), model=None if model is None else ModelInfo.from_dict(model)
        )


@dataclass(frozen=True)
class EquityInfo(_Keys):
    """The last run's last equity row."""

    ts: str  # ISO UTC, as journaled
    cash: float
    equity: float
    positions_value: float


@dataclass(frozen=True)
class StatusInfo:
    """Everything status reads from the journal. ``positions`` and ``open_orders`` are the last
    run's, in the shape of ``position_dict`` and ``order_dict``."""

    schema_version: int | None
    halt: HaltInfo
    heartbeat: HeartbeatInfo
    last_run: RunInfo | None
    equity: EquityInfo | None
    positions: list[dict[str, Any]]
    open_orders: list[dict[str, Any]]
    today: TodayInfo
    last_bars: dict[str, str | None]

    def as_dict(self) -> dict[str, Any]:
        """The ``status --json`` dict (its keys and their order are a contract), positions from
        the journal."""
        return {
            "schema_version": self.schema_version,
            **self.halt.as_dict(),
            **self.heartbeat.as_dict(),
            "last_run": None if self.last_run is None else self.last_run.as_dict(),
            "equity": None if self.equity is None else self.equity.as_dict(),
            "positions": self.positions,
            "open_orders": self.open_orders,
            "positions_source": "journal",
            "broker_error": None,
            "today": self.today.as_dict(),
            "last_bars": self.last_bars,
        }


def halt_info(journal: Journal | None) -> HaltInfo:
    """The kill switch as status shows it (not halted when there is no journal yet)."""
    state = KillSwitch(journal).state() if journal is not None else None
    if state is None or not state.halted:
        return HaltInfo(False, None, None, None, False)
    return HaltInfo(True, state.reason, state.at, state.by, state.keep_positions)


def heartbeat_info(journal: Journal | None, max_age: float, now: datetime) -> HeartbeatInfo:
    """The daemon's last heartbeat; ``daemon_alive`` only when it is at most ``max_age`` seconds
    old, not marked stopped, and (on this host) its process still exists (``liveness``)."""
    beat = read_heartbeat(journal) if journal is not None else None
    state, reason = liveness(beat, max_age, now)
    if beat is None:
        return HeartbeatInfo(None, None, None, None, max_age, False, state, reason)
    age = beat.age_seconds(now)
    return HeartbeatInfo(
        beat.at.astimezone(UTC).isoformat(),
        round(age, 1),
        beat.by,
        beat.detail,
        max_age,
        state == "running",
        state,
        reason,
    )


def order_dict(
    *,
    client_order_id: str,
    symbol: str,
    side: str,
    qty: int,
    type: str,
    status: str,
    limit_price: float | None,
    stop_price: float | None,
    protective: bool,
) -> dict[str, Any]:
    """One open order as status shows it (the same keys from the journal and from the broker)."""
    return {
        "client_order_id": client_order_id,
        "symbol": symbol,
        "side": side,
        "qty": qty,
        "type": type,
        "status": status,
        "limit_price": limit_price,
        "stop_price": stop_price,
        "protective": protective,
    }


def position_dict(symbol: str, qty: int, avg_price: float | None) -> dict[str, Any]:
    return {"symbol": symbol, "qty": qty, "avg_price": avg_price, "stop": None}


def with_stops(
    positions: list[dict[str, Any]], open_orders: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Set each position's ``stop``: the price of an open stop order that would close it (a
    protective one first; among several, the one nearest the market: highest for a long)."""
    orders = list(open_orders)
    for position in positions:
        closing_side = "sell" if position["qty"] > 0 else "buy"
        stops = [
            o
            for o in orders
            if o["symbol"] == position["symbol"]
            and o["side"] == closing_side
            and o["stop_price"] is not None
            and (o["protective"] or o["type"] == "stop")
        ]
        if stops:
            sign = 1 if closing_side == "sell" else -1
            position["stop"] = max(stops, key=lambda o: (o["protective"], sign * o["stop_price"]))[
                "stop_price"
            ]
    return positions


def journal_positions(journal: Journal, run_id: str) -> list[dict[str, Any]]:
    """The run's net positions rebuilt from its fills, at the cost of what is still held
    (``bot.journal.positions``: the daily report's figure too)."""
    return [position_dict(s, lot.qty, lot.avg_cost) for s, lot in positions(journal.fills(run_id)).items()]


def journal_open_orders(journal: Journal, run_id: str) -> list[dict[str, Any]]:
    """The run's orders still pending or new in the journal."""
    return [
        order_dict(
            client_order_id=o.client_order_id,
            symbol=o.symbol,
            side=o.side,
            qty=o.qty,
            type=o.type,
            status=o.status,
            limit_price=o.limit_price,
            stop_price=o.stop_price,
            protective=o.protective,
        )
        for o in journal.orders(run_id, OPEN_STATUSES)
    ]


def _equity_scope(run: RunRecord) -> dict[str, str]:
    """Which equity rows make the account's history: a simulation's own rows (its clock is the
    replay's), else every run of the same mode (a restarted daemon continues the same account)."""
    if run.mode == "simulate":
        return {"run_id": run.run_id}
    return {"mode": run.mode}


def today_info(
    journal: Journal | None, run: RunRecord | None, daily_loss_pct: float, now: datetime
) -> TodayInfo:
    """Today's PnL (New York trading day of ``now``) against the daily loss limit.

    The day starts from the last equity row before today's New York midnight (the previous
    close); when the account has no earlier row, from its first row today (as the risk gate's
    ``EquityTracker`` does on a run's first day). ``loss_limit_left``: dollars the equity may still
    lose before ``risk.daily_loss_pct`` trips the kill switch (0 once it has).
    """
    day = now.astimezone(NEW_YORK).date()
    limit = daily_loss_pct if daily_loss_pct > 0 else None
    none = TodayInfo(day.isoformat(), None, None, None, None, limit, None)
    if journal is None or run is None:
        return none
    scope = _equity_scope(run)
    midnight = datetime.combine(day, time(0), NEW_YORK)
    start_row = journal.last_equity_before(midnight, **scope)
    if start_row is None:
        start_row = journal.first_equity_since(midnight, until=now, **scope)
    now_row = journal.equity_at(now, **scope)
    if start_row is None or now_row is None:
        return none
    start, equity = start_row.equity, now_row.equity
    pnl = equity - start
    return TodayInfo(
        day.isoformat(),
        round(pnl, 2),
        round(pnl / start, 6) if start else None,
        start,
        equity,
        limit,
        None if limit is None else round(max(0.0, equity - start * (1 - limit)), 2),
    )


def last_bars(journal: Journal, run: RunRecord) -> dict[str, str | None]:
    """Latest journaled bar start (ISO UTC) per symbol of the run, for its source and timeframe."""
    symbols = list(run.symbols)
    found = journal.last_bar_times(run.source or "", run.timeframe or "", symbols)
    return {symbol: found.get(symbol) for symbol in symbols}


def model_info(run: RunRecord) -> ModelInfo | None:
    """The model the run started with, both heads' verdicts (None for strategies without one)."""
    try:
        model = json.loads(run.config or "{}").get("model")
    except (ValueError, AttributeError):
        return None
    if not isinstance(model, dict):
        return None
    return ModelInfo(**{f.name: model.get(f.name) for f in dataclasses.fields(ModelInfo)})


def run_info(run: RunRecord) -> RunInfo:
    summary = json.loads(run.summary) if run.summary else {}
    return RunInfo(
        run_id=run.run_id,
        mode=run.mode,
        status=run.status,
        started_at=iso(run.started_at),
        ended_at=None if run.ended_at is None else iso(run.ended_at),
        source=run.source,
        synthetic=run.synthetic,
        strategy=run.strategy,
        symbols=list(run.symbols),
        timeframe=run.timeframe,
        report_dir=summary.get("report_dir"),
        model=model_info(run),
    )


def read_status(journal: Journal | None, config: Config, *, now: datetime | None = None) -> StatusInfo:
    """Everything status shows, from the journal (``None``: no journal file yet). Positions and
    open orders are the last run's."""
    now = now or datetime.now(UTC)
    run = journal.latest_run() if journal is not None else None
    status = StatusInfo(
        schema_version=journal.schema_version() if journal is not None else None,
        halt=halt_info(journal),
        heartbeat=heartbeat_info(journal, config.daemon.heartbeat_max_age_seconds, now),
        last_run=None,
        equity=None,
        positions=[],
        open_orders=[],
        today=today_info(journal, run, config.risk.daily_loss_pct, now),
        last_bars={},
    )
    if journal is None or run is None:
        return status
    last = journal.latest_equity(run_id=run.run_id)
    orders = journal_open_orders(journal, run.run_id)
    return dataclasses.replace(
        status,
        last_run=run_info(run),
        positions=with_stops(journal_positions(journal, run.run_id), orders),
        equity=None
        if last is None
        else EquityInfo(iso(last.ts), last.cash, last.equity, last.positions_value),
        open_orders=orders,
        last_bars=last_bars(journal, run),
    )


def collect(journal: Journal | None, config: Config, *, now: datetime | None = None) -> dict[str, Any]:
    """``read_status`` as the ``status --json`` dict; ``positions_source`` is "journal"."""
    return read_status(journal, config, now=now).as_dict()


def check(info: dict[str, Any], journal_exists: bool) -> tuple[int, str]:
    """``status --check``: (exit code, one line). 0 only when the daemon runs (halted or not): a
    fresh heartbeat, not marked stopped, whose process (on this host) still exists."""
    path, max_age = info["journal"], info["heartbeat_max_age_seconds"]
    if not journal_exists:
        return 1, f"no journal: {path} does not exist (the daemon has never run on it)"
    halted = f"; trading HALTED: {info['halt_reason']}" if info["halted"] else ""
    if info["heartbeat_at"] is None:
        return 1, f"no heartbeat: the daemon has never run on {path}{halted}"
    age = info["heartbeat_age_seconds"]
    by = info["heartbeat_by"] or "unknown process"
    state = info.get("daemon_state", "stale")
    if state in ("stopped", "dead"):
        return 1, f"{state}: {info['daemon_reason']} on {path}{halted}"
    if not info["daemon_alive"]:
        return 1, f"stale: last heartbeat {age:.0f} s ago (max {max_age:g}) by {by} on {path}{halted}"
    return 0, f"ok: heartbeat {age:.0f} s old ({by}){halted}"
