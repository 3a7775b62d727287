"""The evaluation report folder: metrics.json, predictions.csv and three plots (Agg backend)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bot.report.figures import save_figure  # noqa: E402
from bot.report.pnl import SYNTHETIC_NOTE  # noqa: E402
from bot.report.volatility_report import write_volatility_files  # noqa: E402


def write_forecast_report(summary: dict[str, Any], evaluation: Any, report_dir: Path) -> dict[str, str]:
    """Write the files and return their paths (also added to ``summary["files"]``)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(
        {
            "ts": evaluation.ts,
            "symbol": evaluation.symbols,
            "realised": evaluation.y,
            **{f"pred_{k}": v for k, v in evaluation.predictions.items()},
        }
    )
    frame.to_csv(report_dir / "predictions.csv", index=False)
    note = f"\n{SYNTHETIC_NOTE}" if summary.get("synthetic") else ""
    files = {
        "predictions": str(report_dir / "predictions.csv"),
        "scatter": str(_scatter(frame, report_dir / "predicted_vs_realised.png", note)),
        "cumulative": str(_cumulative(frame, report_dir / "cumulative_returns.png", note)),
        "folds": str(_folds(summary, report_dir / "folds.png", note)),
        **write_volatility_files(evaluation, report_dir, note),
    }
    summary["files"] = files | {"metrics": str(report_dir / "metrics.json")}
    (report_dir / "metrics.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return files


def _scatter(frame: pd.DataFrame, path: Path, note: str) -> Path:
    fig, ax = plt.subplots(figsize=(7, 6))
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
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.plot(by_time.index, (1 + by_time["signal"]).cumprod() - 1, label="long when forecast > 0 (no costs)")
    ax.plot(by_time.index, (1 + by_time["hold"]).cumprod() - 1, label="buy and hold", linestyle="--")
    ax.set_ylabel("cumulative return")
    ax.legend()
    ax.grid(alpha=0.3)
    ax.set_title("Signal vs buy and hold, test folds only (equal weight)" + note, fontsize=10)
    return save_figure(fig, path)


def _folds(summary: dict[str, Any], path: Path, note: str) -> Path:
    folds = summary["folds"]
    idx = np.arange(len(folds))
    fig, (ax_rmse, ax_da) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
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
