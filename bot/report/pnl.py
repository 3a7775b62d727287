"""The PnL figure of a run: equity against buy and hold (with the run's fills and stop-outs
marked, and the model's verdicts and the risk gate's counts in a box), drawdown, daily PnL (Agg
backend).

This module draws from a ``PnlData`` (``bot.report.pnl_data``) and imports neither pandas nor
pyplot, so the plot worker (``bot.report.plot_worker``) can load it beside a simulation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.report.matplotlib_import import load_matplotlib

load_matplotlib()  # without the 3D toolkit, when this module is the first to load matplotlib
import matplotlib  # noqa: E402

matplotlib.use("Agg")  # no display on servers (this module draws without pyplot; others may use it)
import matplotlib.dates as mdates  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import PathPatch  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from bot.report.pnl_data import SYNTHETIC_NOTE, PnlData  # noqa: E402

__all__ = ["SYNTHETIC_NOTE", "draw_pnl", "new_figure", "plot_pnl"]

#: PNG zlib level: 1 writes this figure (flat colours, few gradients) about 4x faster than the
#: default 6 for a file about a third larger; the pixels are the same
PNG_COMPRESS_LEVEL = 1

_MARKERS = {
    "buy": ("^", "tab:green", 18),
    "sell": ("v", "tab:orange", 28),
    "protective stop": ("X", "tab:red", 28),
}


def plot_pnl(
    curve: Any,
    path: Path,
    *,
    title: str,
    synthetic: bool,
    fills: Sequence[Any] = (),
    notes: Sequence[str] = (),
) -> Path:
    """Write a three-panel PNG of ``curve`` (a DataFrame: columns equity, buy_and_hold; UTC index)
    to ``path``.

    ``fills`` (``bot.broker.base.Fill``) are marked on the equity line at their time: buys, sells,
    and protective stops that filled (``...-stop`` ids). ``notes`` are printed in a box."""
    from bot.report.pnl_data import pnl_data

    return draw_pnl(pnl_data(curve, fills), path, title=title, synthetic=synthetic, notes=notes)


def new_figure(ticks: int = 0) -> tuple[Figure, Any]:
    """The empty figure and its three panels, with ``ticks`` tick marks made ahead on each axis.

    The plot worker makes it while it waits for its job: making a tick (two marks, a grid line,
    two labels) is a good part of drawing this figure, and a tick made ahead is reused as it is
    when the axis needs it (an axis makes more when it needs more; unused ones are not drawn).
    The figure has its Agg canvas and pixel buffer already, and the PNG writer is loaded: what
    ``savefig`` would otherwise do first (about 10 ms)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    fig = Figure(figsize=(11, 9))
    axes = fig.subplots(3, 1, gridspec_kw={"height_ratios": [3, 1.3, 1.6]})
    for ax in axes if ticks else ():
        ax.xaxis.get_major_ticks(ticks)
        ax.yaxis.get_major_ticks(ticks)
    FigureCanvasAgg(fig).get_renderer()  # the canvas savefig would make, at the dpi it draws at
    Image.preinit()  # PIL's image plugins, loaded at the first save
    return fig, axes


def draw_pnl(
    data: PnlData,
    path: Path,
    *,
    title: str,
    synthetic: bool,
    notes: Sequence[str] = (),
    figure: tuple[Figure, Any] | None = None,
) -> Path:
    """Draw ``data`` into ``figure`` (an unused ``new_figure()``; a new one when None) and write
    the PNG to ``path``.

    Drawn for speed (a simulation's report includes it): a ``Figure`` without pyplot, times
    converted to plot numbers once (New York wall time), the daily bars as two compound paths,
    fixed margins instead of ``tight_layout`` (which draws the whole figure an extra time), a
    fast PNG compression level."""
    fig, (ax_eq, ax_dd, ax_pnl) = figure or new_figure()
    fig.subplots_adjust(left=0.09, right=0.98, top=0.93 if synthetic else 0.95, hspace=0.32)
    x = mdates.date2num(data.times)
    ax_eq.plot(x, data.equity, label="strategy", color="tab:blue", linewidth=1.3)
    ax_eq.plot(
        x,
        data.buy_and_hold,
        label="buy and hold (equal weight, no costs)",
        color="tab:gray",
        linewidth=1.0,
        linestyle="--",
    )
    for kind, (rows, count) in data.markers.items():
        marker, color, size = _MARKERS[kind]
        ax_eq.scatter(
            x[rows],
            data.equity[rows],
            marker=marker,
            color=color,
            s=size,
            zorder=3,
            label=f"{kind} ({count})",
            alpha=0.8,
        )
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
        y=1.0,  # where matplotlib would put it (nothing above the panel), without measuring the panel
    )

    ax_dd.fill_between(x, -100 * data.drawdown, 0, color="tab:red", alpha=0.4)
    ax_dd.set_ylabel("drawdown (%)")
    ax_dd.grid(alpha=0.3)

    _daily_bars(ax_pnl, mdates.date2num(data.days), data.daily_pnl)
    ax_pnl.set_ylabel("daily PnL ($)")
    ax_pnl.grid(alpha=0.3)
    for ax in (ax_eq, ax_dd, ax_pnl):
        ax.xaxis_date()
        # no x label to place: a fixed spot spares measuring every panel's date labels for it
        ax.xaxis.set_label_coords(0.5, -0.1)
    # what fig.autofmt_xdate(bottom=0.09) does, without laying out the upper panels' hidden dates:
    # the last panel's dates rotated, the others' hidden; a fixed bottom margin, as above
    for ax in (ax_eq, ax_dd):
        ax.tick_params(axis="x", labelbottom=False)
    for label in ax_pnl.get_xticklabels():
        label.set_horizontalalignment("right")
        label.set_rotation(30)
    fig.subplots_adjust(bottom=0.09)
    _widen_left_margin(fig, (ax_eq, ax_dd, ax_pnl))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    return path


#: room left between the figure's left edge and y labels that did not fit (pixels); labels that
#: fit, however closely, keep the margin they always had
LEFT_PAD_PX = 3.0


def _widen_left_margin(fig: Figure, axes: Sequence[Any]) -> None:
    """Widen the fixed left margin when a panel's y tick labels and label would not fit in it
    (``$4,000,000`` pushed "equity" off the figure); a figure that fits keeps its margin, pixel
    for pixel. The labels are measured with the renderer the draw then uses (their sizes are
    cached), so this costs a fraction of ``tight_layout``'s extra draw."""
    renderer = fig.canvas.get_renderer()
    leftmost = min(ax.yaxis.get_tightbbox(renderer).x0 for ax in axes)
    if leftmost < 0:
        left = fig.subplotpars.left + (LEFT_PAD_PX - leftmost) / fig.bbox.width
        fig.subplots_adjust(left=left)


def _daily_bars(ax: Any, x: np.ndarray, values: np.ndarray, width: float = 0.8) -> None:
    """One bar a day (green up, red down) as two compound paths, one per colour: ``ax.bar`` makes
    an artist per bar and took over a second for eleven years of days; this is two artists."""
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
