"""``python -m bot evaluate``: walk-forward evaluation of the LSTM against the naive baselines."""

from __future__ import annotations

import argparse
import json

from bot.commands.forecast_common import format_evaluation, prepare


def run(args: argparse.Namespace) -> int:
    inputs = prepare(args, "evaluate")
    config = inputs["config"]
    from bot.forecast.training import book_settings, evaluate
    from bot.report.forecast_report import write_forecast_report

    summary, evaluation = evaluate(
        config.model,
        inputs["frames"],
        inputs["sentiment"],
        timeframe=inputs["timeframe"].name,
        ablation=args.ablation,
        progress=inputs["progress"],
        books=book_settings(config.strategy),
    )
    report_dir = config.resolve(config.report.dir) / f"eval-{inputs['run_id']}"
    summary |= {
        "source": inputs["feed"].name,
        "synthetic": inputs["feed"].synthetic,
        "symbols": inputs["symbols"],
        "timeframe": inputs["timeframe"].name,
        "headlines": inputs["headlines"],
        "report_dir": str(report_dir),
    }
    write_forecast_report(summary, evaluation, report_dir)
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        title = (
            f"Walk-forward evaluation on {', '.join(inputs['symbols'])} ({inputs['timeframe'].name}, "
            f"{inputs['feed'].name}{', SYNTHETIC' if inputs['feed'].synthetic else ''})"
        )
        print(format_evaluation(summary, title))
        print(f"report: {report_dir}")
    return 0
