"""Writes a simulation's report folder: metrics.json, trades.csv, equity.csv, pnl.png.

pnl.png is drawn by a ``Plotter`` (``bot.report.plot_worker``): by default in this process; the
``simulate`` command passes the worker it started, which gets the figure's data first and draws
while the summary and the CSV files are made here.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.engine.simulation import SimulationResult
from bot.journal.positions import positions
from bot.report.frame_csv import write_frame_csv
from bot.report.metrics import max_drawdown, sharpe_ratio, total_return
from bot.report.plot_worker import InlinePlotter, PlotJob, Plotter
from bot.report.pnl_data import SYNTHETIC_NOTE, pnl_data


def summarize(result: SimulationResult, report_dir: Path) -> dict[str, Any]:
    """The run's figures (the keys ``simulate --json`` prints)."""
    curve = result.equity
    equity = curve["equity"].to_numpy()
    statuses = [str(o.status) for o in result.orders]
    return {
        "run_id": result.run_id,
        "source": result.source,
        "synthetic": result.synthetic,
        "note": SYNTHETIC_NOTE if result.synthetic else "",
        "symbols": result.symbols,
        "timeframe": result.timeframe,
        "strategy": result.strategy,
        "start": curve.index[0].isoformat() if len(curve) else None,
        "end": curve.index[-1].isoformat() if len(curve) else None,
        "bars": result.bars,
        "steps": len(curve),
        "orders": len(result.orders),
        "rejected_orders": statuses.count("rejected"),
        "fills": len(result.fills),
        "initial_cash": result.initial_cash,
        "final_equity": round(float(equity[-1]), 2) if len(equity) else result.initial_cash,
        "total_return": total_return(equity),
        "buy_and_hold_return": total_return(curve["buy_and_hold"].to_numpy()),
        "sharpe": sharpe_ratio(curve["equity"]),
        "max_drawdown": max_drawdown(equity),
        "fees": round(sum(f.commission for f in result.fills), 2),
        # held at the end, at the cost of what is still held (the accounting status shows)
        "positions": {
            symbol: {"qty": lot.qty, "avg_cost": round(lot.avg_cost, 4)}
            for symbol, lot in positions(result.fills).items()
        },
        # traded notional over mean equity: 1.0 = the whole account traded once
        "turnover": round(sum(f.qty * f.price for f in result.fills) / float(equity.mean()), 3)
        if len(equity)
        else 0.0,
        "headlines": result.headlines,
        "news_source": result.news_source,
        "halted": result.halted,
        "halt_reason": result.halt_reason,
        **(result.model or {}),
        "protective_stops": sum(1 for o in result.orders if o.protective),
        "risk_verdicts": result.verdicts,
        **(
            {"sizing": result.sizing, "sized_by": max(result.sizing, key=result.sizing.get)}
            if result.sizing
            else {}
        ),
        "elapsed_seconds": round(result.elapsed_seconds, 3),
        "journal_seconds": round(result.journal_seconds, 3),
        "bars_per_second": round(result.bars / result.elapsed_seconds) if result.elapsed_seconds else None,
        "report_dir": str(report_dir),
    }


def note_figures(result: SimulationResult) -> dict[str, Any]:
    """The summary's keys that ``plot_notes`` reads, without the rest of ``summarize`` (the figure
    is handed to its plotter before the summary is made)."""
    return {
        **(result.model or {}),
        "fills": len(result.fills),
        "protective_stops": sum(1 for o in result.orders if o.protective),
        "rejected_orders": sum(1 for o in result.orders if str(o.status) == "rejected"),
        "risk_verdicts": result.verdicts,
        **({"sized_by": max(result.sizing, key=result.sizing.get)} if result.sizing else {}),
    }


def plot_notes(summary: dict[str, Any]) -> list[str]:
    """The box on pnl.png: the model's two verdicts, the trades and the risk gate's verdicts
    (``summary``: the run's summary, or its ``note_figures``)."""
    notes = []
    if summary.get("model_id"):
        notes.append(
            f"return head {summary['model_status'].upper()}, risk head {summary['risk_model_status'].upper()}"
        )
    if summary.get("sized_by"):
        notes.append(f"sized by {summary['sized_by']}")
    notes.append(
        f"{summary['fills']} fills, {summary['protective_stops']} protective stops, "
        f"{summary['rejected_orders']} rejected"
    )
    verdicts = summary.get("risk_verdicts") or {}
    if verdicts:
        notes.append(
            "risk gate: "
            + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items(), key=lambda kv: -kv[1])[:4])
        )
    return notes


def start_plot(result: SimulationResult, report_dir: Path, plotter: Plotter) -> None:
    """Hand the run's ``pnl.png`` to ``plotter`` (or stop it: a run without a step has no figure).
    Needs the result's curve, fills and verdicts only, not its timings: ``run_simulation`` can
    call it (``on_result``) before its last journal writes are done."""
    if len(result.equity):
        title = f"{result.strategy} on {', '.join(result.symbols)} ({result.timeframe}, {result.source})"
        job = PlotJob(
            pnl_data(result.equity, result.fills),
            (report_dir / "pnl.png").absolute(),
            title=title,
            synthetic=result.synthetic,
            notes=tuple(plot_notes(note_figures(result))),
        )
        plotter.submit(job)
    else:
        plotter.close()


def write_report(
    result: SimulationResult,
    report_dir: Path,
    plotter: Plotter | None = None,
    while_drawing: Callable[[], object] | None = None,
    *,
    plot_started: bool = False,
) -> dict[str, Any]:
    """Write every report file and return the summary (with the files' paths).

    The figure goes to ``plotter`` first (an ``InlinePlotter`` when None; ``plot_started``: the
    caller has already handed it over, ``start_plot``), the summary and the CSV files are made
    while it draws, then ``while_drawing`` is called (the caller's own work that can overlap the
    drawing), and metrics.json is written last, once the figure is there."""
    report_dir.mkdir(parents=True, exist_ok=True)
    plotter = plotter or InlinePlotter()
    if not plot_started:
        start_plot(result, report_dir, plotter)
    summary = summarize(result, report_dir)
    if len(result.equity):
        summary["plot"] = str(report_dir / "pnl.png")
    _write_trades(result, report_dir / "trades.csv")
    _write_equity(result, report_dir / "equity.csv")
    if while_drawing is not None:
        while_drawing()
    plotter.finish()
    summary["files"] = {name: str(report_dir / name) for name in ("metrics.json", "trades.csv", "equity.csv")}
    (report_dir / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _write_trades(result: SimulationResult, path: Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ts", "symbol", "side", "qty", "price", "commission", "client_order_id"])
        for fill in result.fills:
            writer.writerow(
                [
                    fill.ts.isoformat(),
                    fill.symbol,
                    str(fill.side),
                    fill.qty,
                    repr(fill.price),
                    repr(fill.commission),
                    fill.client_order_id,
                ]
            )


def _write_equity(result: SimulationResult, path: Path) -> None:
    write_frame_csv(result.equity, path, float_format="%.6f")
