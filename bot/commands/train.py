"""``python -m bot train``: evaluate, fit the final model, and activate it only if it passes the gate."""

from __future__ import annotations

import argparse
import json
import sys

from bot.commands.forecast_common import format_evaluation, prepare


def run(args: argparse.Namespace) -> int:
    inputs = prepare(args, "train")
    config = inputs["config"]
    from bot.forecast.training import book_settings, train_and_register

    outcome = train_and_register(
        config.model,
        inputs["frames"],
        inputs["sentiment"],
        models_dir=config.resolve(config.model.dir),
        timeframe=inputs["timeframe"].name,
        symbols=inputs["symbols"],
        force=args.force,
        progress=inputs["progress"],
        books=book_settings(config.strategy),
    )
    result = {
        "model_id": outcome.model_id,
        "status": outcome.status,
        "reason": outcome.reason,
        "risk_status": outcome.risk_status,
        "risk_reason": outcome.risk_reason,
        "forced": outcome.forced,
        "folder": str(outcome.folder),
        **outcome.summary,
    }
    if outcome.forced:
        print(
            f"WARNING: --force made model {outcome.model_id} active although it {outcome.reason}",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(result, default=str))
        return 0
    print(
        format_evaluation(
            outcome.summary, f"Trained model {outcome.model_id} on {', '.join(inputs['symbols'])}"
        )
    )
    verdict = "ACTIVE" if outcome.status == "active" else "REJECTED (its return forecasts are not used)"
    print(f"model {outcome.model_id}: return head {verdict}: {outcome.reason}")
    risk = "ACTIVE" if outcome.risk_status == "active" else "REJECTED (positions are sized by EWMA instead)"
    print(f"model {outcome.model_id}: risk head {risk}: {outcome.risk_reason}")
    print(f"saved in {outcome.folder}")
    return 0
