"""``python -m bot status``: the last run, its positions and equity, read from the journal.

Light: standard library plus config and journal only (no pandas, no TensorFlow).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.commands.common import load
from bot.journal import Journal
from risk.killswitch import KillSwitch


def halt_info(journal: Journal | None) -> dict[str, Any]:
    """The kill switch as status shows it (not halted when there is no journal yet)."""
    state = KillSwitch(journal).state() if journal is not None else None
    if state is None or not state.halted:
        return {"halted": False, "halt_reason": None, "halted_at": None, "halted_by": None}
    return {"halted": True, "halt_reason": state.reason, "halted_at": state.at, "halted_by": state.by}


def collect(journal: Journal) -> dict[str, Any]:
    run = journal.last_run()
    if run is None:
        return {"last_run": None, "positions": [], "equity": None, **halt_info(journal)}
    equity = journal.last_equity(run["run_id"])
    summary = json.loads(run["summary"]) if run["summary"] else {}
    return {
        **halt_info(journal),
        "last_run": {
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
        },
        "positions": [
            {"symbol": p["symbol"], "qty": p["qty"], "avg_buy_price": p["avg_buy_price"]}
            for p in journal.positions(run["run_id"])
        ],
        "equity": None if equity is None else {
            "ts": equity["ts"], "cash": equity["cash"], "equity": equity["equity"],
            "positions_value": equity["positions_value"],
        },
    }  # fmt: skip


def run(args: argparse.Namespace) -> int:
    config = load(args.config)
    path = config.resolve(config.journal.path)
    if not path.exists():
        info: dict[str, Any] = {"journal": str(path), "last_run": None, "positions": [], "equity": None,
                                **halt_info(None)}  # fmt: skip
    else:
        journal = Journal(path, readonly=True)
        try:
            info = {"journal": str(path), "schema_version": journal.schema_version(), **collect(journal)}
        finally:
            journal.close()
    if args.json:
        print(json.dumps(info))
    else:
        print(format_status(info))
    return 0


def format_status(info: dict[str, Any]) -> str:
    lines = [f"journal: {info['journal']}"]
    if info.get("halted"):
        lines.insert(0, f"*** TRADING HALTED *** since {info['halted_at']} by {info['halted_by']}: "
                        f"{info['halt_reason']} (clear with `python -m bot resume`)")  # fmt: skip
    run = info["last_run"]
    if run is None:
        lines.append("no runs yet: try `python -m bot simulate`")
        return "\n".join(lines)
    lines.append(f"last run: {run['run_id']} ({run['mode']}, {run['status']}) {run['strategy']} on "
                 f"{', '.join(run['symbols'])} [{run['source']}{', SYNTHETIC' if run['synthetic'] else ''}]")  # fmt: skip
    lines.append(f"  started {run['started_at']}, ended {run['ended_at'] or '-'}")
    eq = info["equity"]
    if eq:
        lines.append(f"  equity ${eq['equity']:,.2f} (cash ${eq['cash']:,.2f}) at {eq['ts']}")
    if info["positions"]:
        lines.append("  positions:")
        lines += [f"    {p['symbol']:<8} {p['qty']:>8} sh" for p in info["positions"]]
    else:
        lines.append("  positions: none")
    if run.get("report_dir"):
        lines.append(f"  report: {run['report_dir']}")
    return "\n".join(lines)
