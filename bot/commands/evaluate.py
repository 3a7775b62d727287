"""``python -m bot evaluate``: walk-forward evaluation of the LSTM against the naive baselines."""

from __future__ import annotations

import argparse
import gc
import json
import sys
import threading

from bot.commands.forecast_common import format_evaluation, prepare
from bot.report import forecast_worker


def _warm_report() -> None:
    """Import the report's modules and draw one small figure (loading matplotlib's fonts): about
    1 CPU-s that, done on a thread while the fits run, no longer comes after them. Only where no
    report worker could be forked (then the report is drawn in this process)."""
    try:
        from bot.forecast.tensorflow_import import import_tensorflow
        from bot.report.forecast_report import warm_up

        # First wait for TensorFlow's import (or do it): the fits wait for it, and two imports at
        # once would only take turns at the interpreter lock.
        import_tensorflow()
        warm_up()
    except Exception:  # noqa: BLE001 - a warm-up only: the report itself raises the real error
        pass


def run(args: argparse.Namespace) -> int:
    from bot.report.forecast_report import warm_up

    # forked first thing (one thread, no TensorFlow): it loads matplotlib while the bars load
    worker = forecast_worker.start(warm_up)
    try:
        return _run(args, worker)
    finally:
        if worker is not None:
            worker.close()  # a no-op after the report; ends an unused worker
        if _process_ends_here():
            # The interpreter's exit collects garbage once more, walking every object TensorFlow
            # and Keras made: 0.8 s after the report, 0.09 s with them frozen (nothing after this
            # needs them collected; the process is about to end).
            gc.freeze()


def _process_ends_here() -> bool:
    """Whether this process is ``python -m bot`` (it ends when the command returns), not a
    caller that goes on (a test, a notebook)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return spec is not None and spec.name == "bot.__main__"


def _run(args: argparse.Namespace, worker: forecast_worker.ReportWorker | None) -> int:
    from bot.report.forecast_report import write_forecast_report

    inputs = prepare(args, "evaluate")
    config = inputs["config"]
    from bot.forecast import risk_baselines
    from bot.forecast.training import book_settings, evaluate

    # forked now (still one thread, no TensorFlow): the risk baselines' worker loads arch and
    # SciPy while this process builds the windows (None: forked later, or computed on threads)
    baselines = risk_baselines.pool()
    # without a report worker the report is drawn here: warm matplotlib up beside the fits
    warm = threading.Thread(target=_warm_report, name="warm-report", daemon=True)
    try:
        summary, evaluation = evaluate(
            config.model,
            inputs["frames"],
            inputs["sentiment"],
            timeframe=inputs["timeframe"].name,
            ablation=args.ablation,
            progress=inputs["progress"],
            books=book_settings(config.strategy),
            # after the walk-forward forked its child: no thread before that
            while_fitting=warm.start if worker is None else None,
            baselines_pool=baselines,
        )
    finally:
        if baselines is not None:
            baselines.shutdown(wait=True, cancel_futures=True)
    if warm.ident is not None:  # started (the walk-forward got as far as fitting)
        warm.join()  # matplotlib is not thread-safe: the warm-up ends before the report starts
    report_dir = config.resolve(config.report.dir) / f"eval-{inputs['run_id']}"
    summary |= {
        "source": inputs["feed"].name,
        "synthetic": inputs["feed"].synthetic,
        "symbols": inputs["symbols"],
        "timeframe": inputs["timeframe"].name,
        "headlines": inputs["headlines"],
        "report_dir": str(report_dir),
    }
    write_forecast_report(summary, evaluation, report_dir, worker)
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
