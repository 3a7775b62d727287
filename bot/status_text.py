"""The readable form of ``python -m bot status`` (the dict built by ``bot.status_view``)."""

from __future__ import annotations

from typing import Any


def _money(value: float | None) -> str:
    if value is None:
        return "-"
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def _price(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def halt_banner(info: dict[str, Any]) -> list[str]:
    if not info.get("halted"):
        return []
    keep = " (keep positions)" if info.get("halt_keep_positions") else ""
    return [f"*** TRADING HALTED *** since {info['halted_at']} by {info['halted_by']}: {info['halt_reason']}"
            f"{keep} (clear with `python -m bot resume`)"]  # fmt: skip


def daemon_line(info: dict[str, Any]) -> str:
    if info["heartbeat_at"] is None:
        return "daemon: no heartbeat (no daemon has run on this journal)"
    detail = info.get("heartbeat_detail") or {}
    extra = ", ".join(f"{k} {detail[k]}" for k in ("mode", "run_id", "last_bar") if detail.get(k))
    state = "alive" if info["daemon_alive"] else f"NOT RUNNING? (max {info['heartbeat_max_age_seconds']:g} s)"
    return (f"daemon: {state}, last heartbeat {info['heartbeat_age_seconds']:.0f} s ago at {info['heartbeat_at']}"
            f" ({info['heartbeat_by'] or 'unknown'}{', ' + extra if extra else ''})")  # fmt: skip


def run_lines(info: dict[str, Any]) -> list[str]:
    run = info["last_run"]
    if run is None:
        return ["no runs yet: try `python -m bot simulate`"]
    lines = [f"last run: {run['run_id']} ({run['mode']}, {run['status']}) {run['strategy']} on "
             f"{', '.join(run['symbols'])} [{run['source']}{', SYNTHETIC' if run['synthetic'] else ''}]",
             f"  started {run['started_at']}, ended {run['ended_at'] or '-'}"]  # fmt: skip
    eq = info["equity"]
    if eq:
        lines.append(f"  equity {_money(eq['equity'])} (cash {_money(eq['cash'])}) at {eq['ts']}")
    model = run.get("model")
    if model and model.get("model_id"):
        lines.append(f"  model {model['model_id']}")
        lines.append(f"    return head: {str(model.get('model_status')).upper()}: {model.get('model_reason') or '-'}")
        lines.append(f"    risk head:   {str(model.get('risk_model_status')).upper()}: "
                     f"{model.get('risk_model_reason') or '-'}")  # fmt: skip
    if run.get("report_dir"):
        lines.append(f"  report: {run['report_dir']}")
    return lines


def today_lines(today: dict[str, Any]) -> list[str]:
    head = f"today ({today['date']}, New York):"
    limit = today["daily_loss_limit_pct"]
    limit_text = "daily loss limit off" if limit is None else f"daily loss limit {limit:.2%}"
    if today["pnl"] is None:
        return [f"{head} no equity recorded; {limit_text}"]
    line = (f"{head} PnL {_money(today['pnl'])} ({today['pnl_pct']:+.2%}) from {_money(today['day_start_equity'])}"
            f" at the previous close, equity {_money(today['equity'])}")  # fmt: skip
    if limit is None:
        return [line, f"  {limit_text}"]
    return [line, f"  {limit_text}: {_money(today['loss_limit_left'])} left before it trips the kill switch"]


def position_lines(info: dict[str, Any]) -> list[str]:
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
            lines.append(f"  {o['side']:<4} {o['qty']:>6} {o['symbol']:<8} {' '.join(kind):<18} {o['status']:<8}"
                         f" {o['client_order_id']}{tag}")  # fmt: skip
    return lines


def bar_lines(info: dict[str, Any]) -> list[str]:
    bars = info["last_bars"]
    if not bars:
        return []
    run = info["last_run"] or {}
    lines = [f"last bars ({run.get('source')}, {run.get('timeframe')}):"]
    lines += [f"  {symbol:<8} {ts or 'none journaled'}" for symbol, ts in bars.items()]
    return lines


def format_status(info: dict[str, Any]) -> str:
    lines = [*halt_banner(info), f"journal: {info['journal']}", daemon_line(info), *run_lines(info)]
    if info["last_run"] is not None:
        lines += today_lines(info["today"])
    if info["last_run"] is not None or info["positions_source"] == "broker" or info.get("broker_error"):
        lines += position_lines(info)
    lines += bar_lines(info)
    return "\n".join(lines)
