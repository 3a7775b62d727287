"""The readable form of ``python -m bot status``: the dict of ``bot.status.view.collect`` (with
the broker's positions when it was read), its journal parts read back as the view's dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.status.view import EquityInfo, HaltInfo, HeartbeatInfo, RunInfo, TodayInfo


def _money(value: float | None) -> str:
    if value is None:
        return "-"
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def _price(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def halt_banner(halt: HaltInfo) -> list[str]:
    if not halt.halted:
        return []
    keep = " (keep positions)" if halt.halt_keep_positions else ""
    return [
        (
            f"*** TRADING HALTED *** since {halt.halted_at} by {halt.halted_by}: {halt.halt_reason}"
            f"{keep} (clear with `python -m bot resume`)"
        )
    ]


def daemon_line(beat: HeartbeatInfo) -> str:
    if beat.heartbeat_at is None:
        return "daemon: no heartbeat (no daemon has run on this journal)"
    detail = beat.heartbeat_detail or {}
    extra = ", ".join(f"{k} {detail[k]}" for k in ("mode", "run_id", "last_bar") if detail.get(k))
    if beat.daemon_alive:
        state = "alive"
    elif beat.daemon_state in ("stopped", "dead"):
        state = "STOPPED" if beat.daemon_state == "stopped" else "DEAD (no such process)"
    else:
        state = f"NOT RUNNING? (max {beat.heartbeat_max_age_seconds:g} s)"
    return (
        f"daemon: {state}, last heartbeat {beat.heartbeat_age_seconds:.0f} s ago at {beat.heartbeat_at}"
        f" ({beat.heartbeat_by or 'unknown'}{', ' + extra if extra else ''})"
    )


def run_lines(run: RunInfo | None, eq: EquityInfo | None) -> list[str]:
    if run is None:
        return ["no runs yet: try `python -m bot simulate`"]
    lines = [
        (
            f"last run: {run.run_id} ({run.mode}, {run.status}) {run.strategy} on "
            f"{', '.join(run.symbols)} [{run.source}{', SYNTHETIC' if run.synthetic else ''}]"
        ),
        f"  started {run.started_at}, ended {run.ended_at or '-'}",
    ]
    if eq:
        lines.append(f"  equity {_money(eq.equity)} (cash {_money(eq.cash)}) at {eq.ts}")
    model = run.model
    if model and model.model_id:
        lines.append(f"  model {model.model_id}")
        lines.append(f"    return head: {str(model.model_status).upper()}: {model.model_reason or '-'}")
        lines.append(
            f"    risk head:   {str(model.risk_model_status).upper()}: {model.risk_model_reason or '-'}"
        )
    if run.report_dir:
        lines.append(f"  report: {run.report_dir}")
    return lines


def today_lines(today: TodayInfo) -> list[str]:
    head = f"today ({today.date}, New York):"
    limit = today.daily_loss_limit_pct
    limit_text = "daily loss limit off" if limit is None else f"daily loss limit {limit:.2%}"
    if today.pnl is None:
        return [f"{head} no equity recorded; {limit_text}"]
    line = (
        f"{head} PnL {_money(today.pnl)} ({today.pnl_pct:+.2%}) from {_money(today.day_start_equity)}"
        f" at the previous close, equity {_money(today.equity)}"
    )
    if limit is None:
        return [line, f"  {limit_text}"]
    return [line, f"  {limit_text}: {_money(today.loss_limit_left)} left before it trips the kill switch"]


def position_lines(info: Mapping[str, Any]) -> list[str]:
    """Positions and open orders: the journal's or the broker's (``positions_source``)."""
    source = info["positions_source"]
    lines = []
    if info.get("broker_error"):
        lines.append(f"broker: unreachable ({info['broker_error']}); positions and orders from the journal")
    if not info["positions"]:
        lines.append(f"positions ({source}): none")
    else:
        lines.append(f"positions ({source}):")
        for p in info["positions"]:
            stop = f"stop {_price(p['stop'])}" if p["stop"] is not None else "NO STOP"
            lines.append(f"  {p['symbol']:<8} {p['qty']:>8} sh @ {_price(p['avg_price']):>10}  {stop}")
    if not info["open_orders"]:
        lines.append(f"open orders ({source}): none")
    else:
        lines.append(f"open orders ({source}):")
        for o in info["open_orders"]:
            kind = [o["type"]]  # e.g. "stop 90.00", "limit 250.00", "market"
            for name in ("limit", "stop"):
                price = o[f"{name}_price"]
                if price is not None:
                    kind.append(_price(price) if name == o["type"] else f"{name} {_price(price)}")
            tag = " [protective]" if o["protective"] else ""
            lines.append(
                f"  {o['side']:<4} {o['qty']:>6} {o['symbol']:<8} {' '.join(kind):<18} {o['status']:<8}"
                f" {o['client_order_id']}{tag}"
            )
    return lines


def bar_lines(bars: Mapping[str, str | None], run: RunInfo | None) -> list[str]:
    if not bars:
        return []
    lines = [f"last bars ({run.source if run else None}, {run.timeframe if run else None}):"]
    lines += [f"  {symbol:<8} {ts or 'none journaled'}" for symbol, ts in bars.items()]
    return lines


def format_status(info: Mapping[str, Any]) -> str:
    """``info``: the status dict (``collect``'s keys, plus ``journal``)."""
    run = None if info["last_run"] is None else RunInfo.from_dict(info["last_run"])
    equity = None if info["equity"] is None else EquityInfo.from_dict(info["equity"])
    lines = [
        *halt_banner(HaltInfo.from_dict(info)),
        f"journal: {info['journal']}",
        daemon_line(HeartbeatInfo.from_dict(info)),
        *run_lines(run, equity),
    ]
    if run is not None:
        lines += today_lines(TodayInfo.from_dict(info["today"]))
    if run is not None or info["positions_source"] == "broker" or info.get("broker_error"):
        lines += position_lines(info)
    lines += bar_lines(info["last_bars"], run)
    return "\n".join(lines)
