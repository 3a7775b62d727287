"""The evaluation report folder: metrics.json, predictions.csv and three plots (Agg backend).

matplotlib is imported by the drawing functions, not with this module: ``evaluate`` hands the
drawing to a worker process (``bot.report.forecast_worker``) and then never loads it itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bot.report.figures import pyplot, save_figure
from bot.report.pnl_data import SYNTHETIC_NOTE
from bot.report.volatility_report import draw_volatility_files, volatility_files, volatility_frames


def warm_up() -> None:
    """Load matplotlib and draw one small figure (its fonts load): what the first figure pays."""
    import io

    plt = pyplot()
    figure, axes = plt.subplots(figsize=(2, 1))
    axes.plot([0, 1], [0, 1])
    axes.set_title("warm-up")
    figure.savefig(io.BytesIO(), format="png")
    plt.close(figure)


def write_forecast_report(
    summary: dict[str, Any], evaluation: Any, report_dir: Path, worker: Any = None
) -> dict[str, str]:
    """Write the files and return their paths (also added to ``summary["files"]``). ``worker``
    (a ``bot.report.forecast_worker.ReportWorker``) draws them in another process, the return
    and the risk parts at once; without one, or when it fails, they are drawn here."""
    report_dir.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(
        {
            "ts": evaluation.ts,
            "symbol": evaluation.symbols,
            "realised": evaluation.y,
            **{f"pred_{k}": v for k, v in evaluation.predictions.items()},
        }
    )
    note = f"\n{SYNTHETIC_NOTE}" if summary.get("synthetic") else ""
    # the risk part first: it is the larger (its CSV, two figures and the books' curves)
    jobs: list[tuple[Any, tuple[Any, ...]]] = []
    volatility = volatility_frames(evaluation)
    if volatility is not None:
        jobs.append((draw_volatility_files, (*volatility, report_dir, note)))
    jobs.append((draw_return_files, (frame, summary["folds"], report_dir, note)))
    if worker is None or not worker.draw(jobs):
        for function, args in jobs:
            function(*args)
    files = {
        "predictions": str(report_dir / "predictions.csv"),
        "scatter": str(report_dir / "predicted_vs_realised.png"),
        "cumulative": str(report_dir / "cumulative_returns.png"),
        "folds": str(report_dir / "folds.png"),
        **(volatility_files(report_dir) if volatility is not None else {}),
    }
    summary["files"] = files | {"metrics": str(report_dir / "metrics.json")}
    (report_dir / "metrics.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return files


def draw_return_files(frame: pd.DataFrame, folds: list[dict[str, Any]], report_dir: Path, note: str) -> None:
    """predictions.csv and the return head's three figures."""
    frame.to_csv(report_dir / "predictions.csv", index=False)
    _scatter(frame, report_dir / "predicted_vs_realised.png", note)
    _cumulative(frame, report_dir / "cumulative_returns.png", note)
    _folds(folds, report_dir / "folds.png", note)


def _scatter(frame: pd.DataFrame, path: Path, note: str) -> Path:
    fig, ax = pyplot().subplots(figsize=(7, 6))
    ax.scatter(frame["pred_model"], frame["realised"], s=4, alpha=0.3)
    ax.axhline(0, color="gray", linewidth=0.5)
    ax.axvline(0, color="gray", linewidth=0.5)
    ax.set_xlabel("predicted next log return (LSTM)")
    ax.set_ylabel("realised next log return")
    ax.set_title("Predicted vs realised, out of sample" + note, fontsize=10)
    return save_figure(fig, path)


def _cumulative(frame: pd.DataFrame, path: Path, note: str) -> Path:
    """Equal-weight book across symbols per decision time: long when the forecast is > 0."""
    simple = np.expm1(frame["realised"])
    by_time = (
        pd.DataFrame({"ts": frame["ts"], "hold": simple, "signal": simple * (frame["pred_model"] > 0)})
        .groupby("ts")
        .mean()
    )
    fig, ax = pyplot().subplots(figsize=(10, 5))
    ax.plot(by_time.index, (1 + by_time["signal"]).cumprod() - 1, label="long when forecast > 0 (no costs)")
    ax.plot(by_time.index, (1 + by_time["hold"]).cumprod() - 1, label="buy and hold", linestyle="--")
    ax.set_ylabel("cumulative return")
    ax.legend()
    ax.grid(alpha=0.3)
    ax.set_title("Signal vs buy and hold, test folds only (equal weight)" + note, fontsize=10)
    return save_figure(fig, path)


def _folds(folds: list[dict[str, Any]], path: Path, note: str) -> Path:
    idx = np.arange(len(folds))
    fig, (ax_rmse, ax_da) = pyplot().subplots(2, 1, figsize=(10, 6), sharex=True)
    for offset, name in ((-0.2, "model"), (0.2, "zero")):
        ax_rmse.bar(idx + offset, [f[name]["rmse"] for f in folds], width=0.4, label=name)
    ax_rmse.set_ylabel("RMSE")
    ax_rmse.legend()
    ax_da.bar(idx, [f["model"]["directional_accuracy"] or 0 for f in folds], width=0.5)
    ax_da.axhline(0.5, color="gray", linestyle="--")
    ax_da.set_ylabel("directional accuracy")
    ax_da.set_xlabel("fold")
    ax_rmse.set_title("Metrics per walk-forward fold" + note, fontsize=10)
    return save_figure(fig, path)
