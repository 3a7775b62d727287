"""The risk head's part of the evaluation report: its forecasts next to the realised range
variance, and the volatility-managed books' equity and drawdown (Agg backend; matplotlib imported
by the drawing functions, see ``bot.report.forecast_report``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bot.report.figures import pyplot, save_figure


def volatility_files(report_dir: Path) -> dict[str, str]:
    """The paths ``draw_volatility_files`` writes, by the report's names for them."""
    return {
        "volatility_csv": str(report_dir / "volatility.csv"),
        "volatility": str(report_dir / "volatility.png"),
        "vol_books": str(report_dir / "vol_books.png"),
    }


def volatility_frames(evaluation: Any) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(per test sample: realised and every forecast; the books' equity at 5 bps), or None when
    the evaluation has no risk head: what ``draw_volatility_files`` draws (picklable)."""
    if not evaluation.vol_predictions:
        return None
    frame = pd.DataFrame(
        {
            "ts": evaluation.ts,
            "symbol": evaluation.symbols,
            "realised_var": evaluation.y_var,
            **{f"var_{k}": v for k, v in evaluation.vol_predictions.items()},
            **{f"ret_var_{k}": v for k, v in evaluation.return_variance.items()},
            "next_return": evaluation.y,
        }
    )
    return frame, evaluation.vol_managed()[1]


def draw_volatility_files(frame: pd.DataFrame, curves: pd.DataFrame, report_dir: Path, note: str) -> None:
    """``volatility.csv``, ``volatility.png`` and ``vol_books.png`` from ``volatility_frames``."""
    frame.to_csv(report_dir / "volatility.csv", index=False)
    _forecast_vs_realised(frame, report_dir / "volatility.png", note)
    _books(curves, report_dir / "vol_books.png", note)


def _annualised(variance: pd.Series, periods: int = 252) -> pd.Series:
    return np.sqrt(variance * periods)


def _forecast_vs_realised(frame: pd.DataFrame, path: Path, note: str) -> Path:
    """Mean over symbols per day (annualised volatility), smoothed over 5 days for legibility."""
    by_day = frame.groupby("ts")[["realised_var", "var_model", "var_ewma", "var_har"]].mean()
    fig, ax = pyplot().subplots(figsize=(11, 5))
    ax.plot(
        by_day.index,
        _annualised(by_day["realised_var"]).rolling(5).mean(),
        color="lightgray",
        label="realised (Garman-Klass, 5-day mean)",
    )
    for column, label, style in (
        ("var_model", "LSTM risk head", "-"),
        ("var_ewma", "EWMA", "--"),
        ("var_har", "HAR", ":"),
    ):
        ax.plot(by_day.index, _annualised(by_day[column]), linestyle=style, linewidth=1, label=label)
    ax.set_ylabel("annualised volatility (mean over symbols)")
    ax.legend()
    ax.grid(alpha=0.3)
    ax.set_title("Forecast vs realised volatility, out of sample" + note, fontsize=10)
    return save_figure(fig, path)


def _books(curves: pd.DataFrame, path: Path, note: str) -> Path:
    fig, (ax_eq, ax_dd) = pyplot().subplots(2, 1, figsize=(11, 7), sharex=True, height_ratios=(2, 1))
    for name in curves.columns:
        equity = curves[name]
        ax_eq.plot(curves.index, equity, label=name)
        ax_dd.plot(curves.index, equity / equity.cummax() - 1, label=name)
    ax_eq.set_yscale("log")
    ax_eq.set_ylabel("growth of $1 (log scale)")
    ax_eq.legend()
    ax_eq.grid(alpha=0.3)
    ax_dd.set_ylabel("drawdown")
    ax_dd.grid(alpha=0.3)
    ax_eq.set_title("Volatility-managed books at 5 bps, out of sample" + note, fontsize=10)
    return save_figure(fig, path)
