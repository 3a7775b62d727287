"""The PnL figure of a run: equity against buy and hold (with the run's fills and stop-outs
marked, and the model's verdicts and the risk gate's counts in a box), drawdown, daily PnL (Agg
backend)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers (this module draws without pyplot; others may use it)
import matplotlib.dates as mdates  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import PathPatch  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from bot.calendar.timeframes import NEW_YORK  # noqa: E402
from bot.report.metrics import daily_equity, drawdown  # noqa: E402

SYNTHETIC_NOTE = "SYNTHETIC sample market: these results mean nothing about real markets"


def plot_pnl(
    curve: pd.DataFrame,
    path: Path,
    *,
    title: str,
    synthetic: bool,
    fills: Sequence[Any] = (),
    notes: Sequence[str] = (),
) -> Path:
    """Write a three-panel PNG of ``curve`` (columns equity, buy_and_hold; UTC index) to ``path``.

    ``fills`` (``bot.broker.base.Fill``) are marked on the equity line at their time: buys, sells,
    and protective stops that filled (``...-stop`` ids). ``notes`` are printed in a box.

    Drawn for speed (a simulation's report includes it): a ``Figure`` without pyplot, times
    converted to plot numbers once (New York wall time), the daily bars as two compound paths,
    fixed margins instead of ``tight_layout`` (which draws the whole figure an extra time)."""
    fig = Figure(figsize=(11, 9))
    ax_eq, ax_dd, ax_pnl = fig.subplots(3, 1, gridspec_kw={"height_ratios": [3, 1.3, 1.6]})
    fig.subplots_adjust(left=0.09, right=0.98, top=0.93 if synthetic else 0.95, hspace=0.32)
    x = mdates.date2num(curve.index.tz_convert(NEW_YORK).tz_localize(None))
    ax_eq.plot(x, curve["equity"].to_numpy(), label="strategy", color="tab:blue", linewidth=1.3)
    ax_eq.plot(
        x,
        curve["buy_and_hold"].to_numpy(),
        label="buy and hold (equal weight, no costs)",
        color="tab:gray",
        linewidth=1.0,
        linestyle="--",
    )
    _mark_fills(ax_eq, x, curve["equity"], fills)
    if notes:
        ax_eq.text(
            0.99,
            0.02,
            "\n".join(notes),
            transform=ax_eq.transAxes,
            ha="right",
            va="bottom",
            fontsize=8,
            family="monospace",
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"},
        )
    ax_eq.set_ylabel("equity")
    ax_eq.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:,.0f}"))
    ax_eq.legend(loc="upper left")
    ax_eq.grid(alpha=0.3)
    ax_eq.set_title(
        title + (f"\n{SYNTHETIC_NOTE}" if synthetic else ""),
        fontsize=11,
        color="darkred" if synthetic else "black",
    )

    dd = drawdown(curve["equity"].to_numpy())
    ax_dd.fill_between(x, -100 * dd, 0, color="tab:red", alpha=0.4)
    ax_dd.set_ylabel("drawdown (%)")
    ax_dd.grid(alpha=0.3)

    daily = daily_equity(curve["equity"])
    pnl = daily.diff().fillna(daily.iloc[0] - curve["equity"].iloc[0])
    _daily_bars(ax_pnl, pd.to_datetime(pnl.index), pnl.to_numpy())
    ax_pnl.set_ylabel("daily PnL ($)")
    ax_pnl.grid(alpha=0.3)
    for ax in (ax_eq, ax_dd, ax_pnl):
        ax.xaxis_date()
    fig.autofmt_xdate(bottom=0.09)  # the rotated dates of the last panel; fixed margin, as above
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def _daily_bars(ax: Any, days: pd.DatetimeIndex, values: np.ndarray, width: float = 0.8) -> None:
    """One bar a day (green up, red down) as two compound paths, one per colour: ``ax.bar`` makes
    an artist per bar and took over a second for eleven years of days; this is two artists."""
    x = mdates.date2num(days)
    left, right = x - width / 2, x + width / 2
    zero = np.zeros_like(values)
    corners = np.stack(
        [np.column_stack(p) for p in ((left, zero), (left, values), (right, values), (right, zero))], axis=1
    )
    for chosen, color in ((values >= 0, "tab:green"), (values < 0, "tab:red")):
        if chosen.any():
            shape = MplPath.make_compound_path_from_polys(corners[chosen])
            # add_artist, not add_patch: add_patch walks the path segment by segment for the limits
            ax.add_artist(PathPatch(shape, facecolor=color, edgecolor="none", transform=ax.transData))
    ax.update_datalim(corners.reshape(-1, 2))
    ax.autoscale_view()


def _mark_fills(ax: Any, x: np.ndarray, equity: pd.Series, fills: Sequence[Any]) -> None:
    """Buys, sells and stop-outs as markers on the equity line (one per step that had one)."""
    if not fills or equity.empty:
        return
    kinds = {"buy": ("^", "tab:green"), "sell": ("v", "tab:orange"), "protective stop": ("X", "tab:red")}
    times = {kind: [] for kind in kinds}
    for fill in fills:
        if fill.client_order_id.endswith("-stop"):
            times["protective stop"].append(fill.ts)
        else:
            times["buy" if str(fill.side).lower().endswith("buy") else "sell"].append(fill.ts)
    index = equity.index
    for kind, stamps in times.items():
        if not stamps:
            continue
        at = pd.DatetimeIndex(stamps).tz_convert(index.tz)
        rows = sorted(set(index.searchsorted(at, side="right") - 1) - {-1})
        marker, color = kinds[kind]
        ax.scatter(
            x[rows],
            equity.to_numpy()[rows],
            marker=marker,
            color=color,
            s=28 if kind != "buy" else 18,
            zorder=3,
            label=f"{kind} ({len(stamps)})",
            alpha=0.8,
        )
    ax.legend(loc="upper left", fontsize=8)
