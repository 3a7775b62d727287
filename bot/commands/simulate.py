"""``python -m bot simulate``: replay history, print a summary, write the report folder.

Imports here are made inside the functions: the plot worker is started before anything heavy
loads (see ``run``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import JournalError

if TYPE_CHECKING:
    from bot.config import Config
    from bot.report.plot_worker import Plotter

WHERE = "command line"


def apply_flags(config: Config, args: argparse.Namespace) -> Config:
    """Command-line flags override the config file, validated the same way."""
    from bot.commands.common import apply_data_flags
    from bot.config import override

    return override(apply_data_flags(config, args), "strategy", WHERE, name=args.strategy)


def run(args: argparse.Namespace) -> int:
    from bot.report.plot_worker import start_plotter

    # first of all, so matplotlib loads in the worker on the other core while this one reads the
    # config, imports pandas and simulates; a config error stops the worker (it has drawn nothing)
    with start_plotter() as plotter:
        from bot.commands.common import load, new_run_id, start_logging

        config = apply_flags(load(args.config), args)
        run_id = new_run_id()
        start_logging(config, "simulate", run_id, writable=("journal.path", "report.dir"))
        summary = _simulate(config, args, run_id, plotter)
    if args.json:
        print(json.dumps(summary))
    else:
        print(format_summary(summary))
    return 0


def _simulate(config: Config, args: argparse.Namespace, run_id: str, plotter: Plotter) -> dict[str, Any]:
    """Run the simulation, write its report folder (pnl.png by ``plotter``), mark the run."""
    import structlog

    from bot.data.sources import make_feed
    from bot.engine.simulation import run_simulation
    from bot.journal.store import open_journal
    from bot.report.simulation_report import start_plot, write_report

    log = structlog.get_logger("bot.simulate")
    journal = open_journal(config.resolve(config.journal.path), batch_size=config.journal.batch_size)
    try:
        feed = make_feed(config, journal)  # a downloading feed caches in the journal
    except BaseException:
        journal.close()
        raise
    try:
        log.info("simulation_started", source=feed.name, strategy=config.strategy.name)
        out = Path(args.out) if args.out else config.resolve(config.report.dir) / f"sim-{run_id}"
        # a worker gets pnl.png as soon as the run has its result, and draws it while the run's
        # last journal writes finish and this process writes the other files (a figure drawn here
        # waits for the report: the run's own time must not count a drawing)
        early = plotter.in_background
        result = run_simulation(
            config,
            feed,
            journal,
            run_id,
            on_result=(lambda done: start_plot(done, out, plotter)) if early else None,
            helpers=1 if early else 0,  # the plot worker: the journal's worker needs a CPU besides
        )
        # the journal's write-ahead log copied into its file while pnl.png is drawn, not at close
        summary = write_report(result, out, plotter, while_drawing=journal.checkpoint, plot_started=early)
        log.info(
            "simulation_finished",
            plot_worker=type(plotter).__name__ == "PlotWorker",  # who drew pnl.png
            **{k: v for k, v in summary.items() if k != "files"},
        )
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        if isinstance(exc, JournalError):
            # the rows still buffered are what the file refused: marking the run matters more
            # (as the daemon does, bot/daemon/runner.py)
            dropped = journal.make_room_after_refusal()
            if dropped:
                log.warning("journal_rows_dropped", rows=dropped, reason="the journal refused them")
        try:  # best effort: the error being raised (a full disk, say) is the one to report
            journal.end_run(run_id, status, None)
        except JournalError:
            log.error("run_not_marked", run_id=run_id, status=status)
        journal.close()
        raise
    journal.end_run(run_id, "completed", summary)
    journal.close()
    return summary


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:+.2f}%"


def _verdicts(counts: dict[str, int]) -> str:
    if not counts:
        return "none (no orders proposed)"
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def _sizing(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    return ", ".join(f"{name} {n / total:.0%}" for name, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def format_summary(s: dict[str, Any]) -> str:
    sharpe = "n/a" if s["sharpe"] is None else f"{s['sharpe']:.2f}"
    lines = [
        f"Simulation {s['run_id']}: {s['strategy']} on {', '.join(s['symbols'])} "
        f"({s['timeframe']}, {s['source']})",
        f"  period            {s['start'][:10]} .. {s['end'][:10]}  ({s['steps']} steps, {s['bars']} bars)",
    ]
    if s["synthetic"]:
        lines.append(f"  NOTE              {s['note']}")
    if s.get("halted"):
        lines.append(
            f"  HALTED            trading is halted ({s['halt_reason']}): no new entries; "
            "`python -m bot resume` clears it"
        )
    lines += [
        f"  return            {_pct(s['total_return'])}   (buy and hold {_pct(s['buy_and_hold_return'])})",
        f"  sharpe            {sharpe}",
        f"  max drawdown      {100 * s['max_drawdown']:.2f}%",
        f"  trades            {s['fills']} fills from {s['orders']} orders ({s['rejected_orders']} rejected, "
        f"{s['protective_stops']} protective stops)",
        f"  risk verdicts     {_verdicts(s['risk_verdicts'])}",
        f"  fees              ${s['fees']:,.2f}   (turnover {s['turnover']:.2f}x mean equity)",
        f"  final equity      ${s['final_equity']:,.2f}  (from ${s['initial_cash']:,.2f})",
        f"  news              {s['headlines']:,} headlines ({s['news_source'] or 'none'})",
        *(
            [
                f"  model             {s['model_id']}{' (trained now)' if s['model_trained_now'] else ''}",
                f"  return head       {s['model_status'].upper()}: {s['model_reason']}",
                f"  risk head         {s['risk_model_status'].upper()}: {s['risk_model_reason']}",
            ]
            if "model_id" in s
            else []
        ),
        *([f"  sized by          {_sizing(s['sizing'])}"] if "sizing" in s else []),
        f"  speed             {s['bars_per_second']:,} bars/s ({s['elapsed_seconds']:.2f} s)",
        f"report: {s['report_dir']}",
    ]
    if "plot" in s:
        lines.append(f"plot:   {s['plot']}")
    return "\n".join(lines)
