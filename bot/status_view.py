"""What ``python -m bot status`` knows from the journal alone: the kill switch, the daemon's
heartbeat, the last run, its positions (with stops) and open orders, today's PnL against the daily
loss limit and the last bar per symbol. ``bot.status_broker`` replaces positions and open orders by
the broker's when one is reachable; ``bot.status_text`` prints the result.

Light: standard library, config and journal only (no pandas, no TensorFlow).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, time
from typing import Any

from bot.config import Config
from bot.heartbeat import read_heartbeat
from bot.journal import Journal, iso
from bot.timeframes import NEW_YORK
from risk.killswitch import KillSwitch

#: journal statuses of an order still working at the broker
OPEN_STATUSES = ("pending", "new")


def halt_info(journal: Journal | None) -> dict[str, Any]:
    """The kill switch as status shows it (not halted when there is no journal yet)."""
    state = KillSwitch(journal).state() if journal is not None else None
    if state is None or not state.halted:
        return {"halted": False, "halt_reason": None, "halted_at": None, "halted_by": None,
                "halt_keep_positions": False}  # fmt: skip
    return {"halted": True, "halt_reason": state.reason, "halted_at": state.at, "halted_by": state.by,
            "halt_keep_positions": state.keep_positions}  # fmt: skip


def heartbeat_info(journal: Journal | None, max_age: float, now: datetime) -> dict[str, Any]:
    """The daemon's last heartbeat; ``daemon_alive`` when it is at most ``max_age`` seconds old."""
    beat = read_heartbeat(journal) if journal is not None else None
    if beat is None:
        return {"heartbeat_at": None, "heartbeat_age_seconds": None, "heartbeat_by": None,
                "heartbeat_detail": None, "heartbeat_max_age_seconds": max_age, "daemon_alive": False}  # fmt: skip
    age = beat.age_seconds(now)
    return {"heartbeat_at": beat.at.astimezone(UTC).isoformat(), "heartbeat_age_seconds": round(age, 1),
            "heartbeat_by": beat.by, "heartbeat_detail": beat.detail, "heartbeat_max_age_seconds": max_age,
            "daemon_alive": age <= max_age}  # fmt: skip


def order_dict(*, client_order_id: str, symbol: str, side: str, qty: int, type: str, status: str,
               limit_price: float | None, stop_price: float | None, protective: bool) -> dict[str, Any]:  # fmt: skip
    """One open order as status shows it (the same keys from the journal and from the broker)."""
    return {"client_order_id": client_order_id, "symbol": symbol, "side": side, "qty": qty, "type": type,
            "status": status, "limit_price": limit_price, "stop_price": stop_price, "protective": protective}  # fmt: skip


def position_dict(symbol: str, qty: int, avg_price: float | None) -> dict[str, Any]:
    return {"symbol": symbol, "qty": qty, "avg_price": avg_price, "stop": None}


def with_stops(positions: list[dict[str, Any]], open_orders: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set each position's ``stop``: the price of an open stop order that would close it (a
    protective one first; among several, the one nearest the market: highest for a long)."""
    orders = list(open_orders)
    for position in positions:
        closing_side = "sell" if position["qty"] > 0 else "buy"
        stops = [o for o in orders if o["symbol"] == position["symbol"] and o["side"] == closing_side
                 and o["stop_price"] is not None and (o["protective"] or o["type"] == "stop")]  # fmt: skip
        if stops:
            sign = 1 if closing_side == "sell" else -1
            position["stop"] = max(stops, key=lambda o: (o["protective"], sign * o["stop_price"]))["stop_price"]
    return positions


def journal_positions(journal: Journal, run_id: str) -> list[dict[str, Any]]:
    """The run's net positions rebuilt from its fills."""
    return [position_dict(p["symbol"], p["qty"], p["avg_buy_price"]) for p in journal.positions(run_id)]


def journal_open_orders(journal: Journal, run_id: str) -> list[dict[str, Any]]:
    """The run's orders still pending or new in the journal."""
    return [
        order_dict(client_order_id=o["client_order_id"], symbol=o["symbol"], side=o["side"], qty=o["qty"],
                   type=o["type"], status=o["status"], limit_price=o["limit_price"], stop_price=o["stop_price"],
                   protective=bool(o["protective"]))
        for o in journal.orders_with_status(run_id, OPEN_STATUSES)
    ]  # fmt: skip


def _equity_scope(run: Any) -> tuple[str, str]:
    """Which equity rows make the account's history: a simulation's own rows (its clock is the
    replay's), else every run of the same mode (a restarted daemon continues the same account)."""
    if run["mode"] == "simulate":
        return "run_id = ?", run["run_id"]
    return "run_id IN (SELECT run_id FROM runs WHERE mode = ?)", run["mode"]


def today_info(journal: Journal | None, run: Any, daily_loss_pct: float, now: datetime) -> dict[str, Any]:
    """Today's PnL (New York trading day of ``now``) against the daily loss limit.

    The day starts from the last equity row before today's New York midnight (the previous
    close); when the account has no earlier row, from its first row today (as the risk gate's
    ``EquityTracker`` does on a run's first day). ``loss_limit_left``: dollars the equity may still
    lose before ``risk.daily_loss_pct`` trips the kill switch (0 once it has).
    """
    day = now.astimezone(NEW_YORK).date()
    limit = daily_loss_pct if daily_loss_pct > 0 else None
    out: dict[str, Any] = {"date": day.isoformat(), "pnl": None, "pnl_pct": None, "day_start_equity": None,
                           "equity": None, "daily_loss_limit_pct": limit, "loss_limit_left": None}  # fmt: skip
    if journal is None or run is None:
        return out
    where, param = _equity_scope(run)
    midnight = iso(datetime.combine(day, time(0), NEW_YORK))
    upto = iso(now)

    def one(sql: str, *params: Any) -> float | None:
        rows = journal.query(f"SELECT equity FROM equity WHERE {where} AND {sql} LIMIT 1", (param, *params))
        return rows[0]["equity"] if rows else None

    start = one("ts < ? ORDER BY ts DESC", midnight)
    if start is None:
        start = one("ts >= ? AND ts <= ? ORDER BY ts", midnight, upto)
    equity = one("ts <= ? ORDER BY ts DESC", upto)
    if start is None or equity is None:
        return out
    pnl = equity - start
    out.update(pnl=round(pnl, 2), pnl_pct=round(pnl / start, 6) if start else None,
               day_start_equity=start, equity=equity)  # fmt: skip
    if limit is not None:
        out["loss_limit_left"] = round(max(0.0, equity - start * (1 - limit)), 2)
    return out


def last_bars(journal: Journal, run: Any) -> dict[str, str | None]:
    """Latest journaled bar start (ISO UTC) per symbol of the run, for its source and timeframe."""
    symbols = run["symbols"].split(",") if run["symbols"] else []
    if not symbols:
        return {}
    marks = ",".join("?" * len(symbols))
    rows = journal.query(
        f"SELECT symbol, MAX(ts) AS ts FROM bars WHERE source = ? AND timeframe = ? AND symbol IN ({marks})"
        " GROUP BY symbol",
        (run["source"] or "", run["timeframe"] or "", *symbols),
    )
    found = {r["symbol"]: r["ts"] for r in rows}
    return {symbol: found.get(symbol) for symbol in symbols}


def model_info(run: Any) -> dict[str, Any] | None:
    """The model the run started with, both heads' verdicts (None for strategies without one)."""
    try:
        model = json.loads(run["config"] or "{}").get("model")
    except (ValueError, AttributeError):
        return None
    if not isinstance(model, dict):
        return None
    keys = ("model_id", "model_status", "model_reason", "risk_model_status", "risk_model_reason")
    return {key: model.get(key) for key in keys}


def run_info(run: Any) -> dict[str, Any]:
    summary = json.loads(run["summary"]) if run["summary"] else {}
    return {
        "run_id": run["run_id"],
        "mode": run["mode"],
        "status": run["status"],
        "started_at": run["started_at"],
        "ended_at": run["ended_at"],
        "source": run["source"],
        "synthetic": bool(run["synthetic"]),
        "strategy": run["strategy"],
        "symbols": run["symbols"].split(",") if run["symbols"] else [],
        "timeframe": run["timeframe"],
        "report_dir": summary.get("report_dir"),
        "model": model_info(run),
    }


def collect(journal: Journal | None, config: Config, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything status shows, from the journal (``None``: no journal file yet). Positions and
    open orders are the last run's; ``positions_source`` is "journal"."""
    now = now or datetime.now(UTC)
    run = journal.last_run() if journal is not None else None
    info: dict[str, Any] = {
        "schema_version": journal.schema_version() if journal is not None else None,
        **halt_info(journal),
        **heartbeat_info(journal, config.daemon.heartbeat_max_age_seconds, now),
        "last_run": None, "equity": None, "positions": [], "open_orders": [],
        "positions_source": "journal", "broker_error": None,
        "today": today_info(journal, run, config.risk.daily_loss_pct, now), "last_bars": {},
    }  # fmt: skip
    if journal is None or run is None:
        return info
    equity = journal.last_equity(run["run_id"])
    orders = journal_open_orders(journal, run["run_id"])
    info.update(
        last_run=run_info(run),
        equity=None if equity is None else {"ts": equity["ts"], "cash": equity["cash"], "equity": equity["equity"],
                                            "positions_value": equity["positions_value"]},
        positions=with_stops(journal_positions(journal, run["run_id"]), orders),
        open_orders=orders,
        last_bars=last_bars(journal, run),
    )  # fmt: skip
    return info


def check(info: dict[str, Any], journal_exists: bool) -> tuple[int, str]:
    """``status --check``: (exit code, one line). 0 when the heartbeat is fresh (halted or not)."""
    path, max_age = info["journal"], info["heartbeat_max_age_seconds"]
    if not journal_exists:
        return 1, f"no journal: {path} does not exist (the daemon has never run on it)"
    halted = f"; trading HALTED: {info['halt_reason']}" if info["halted"] else ""
    if info["heartbeat_at"] is None:
        return 1, f"no heartbeat: the daemon has never run on {path}{halted}"
    age = info["heartbeat_age_seconds"]
    by = info["heartbeat_by"] or "unknown process"
    if not info["daemon_alive"]:
        return 1, f"stale: last heartbeat {age:.0f} s ago (max {max_age:g}) by {by} on {path}{halted}"
    return 0, f"ok: heartbeat {age:.0f} s old ({by}){halted}"
