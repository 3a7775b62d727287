"""The daily report's figure as PNG bytes.

Object-oriented matplotlib only (``Figure`` + the Agg canvas, never pyplot): the daemon draws it in a
worker thread, and pyplot's global figure registry is neither thread-safe nor needed.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bot.report.daily_data import NEW_YORK, DailyFigures
from bot.report.daily_text import money, price

SYNTHETIC_NOTE = "SYNTHETIC data: these results mean nothing about real markets"
#: rows shown per table; a busy day says how many more there were
TABLE_ROWS = 12
_DOLLARS = FuncFormatter(lambda v, _: f"${v:,.0f}")


def title_of(figures: DailyFigures) -> str:
    early = " (early close)" if figures.early_close else ""
    return (
        f"Daily report {figures.day.isoformat()}{early} - run {figures.run_id} "
        f"({figures.mode}, {figures.strategy}, {','.join(figures.symbols)}, {figures.timeframe})"
    )


def render_png(figures: DailyFigures, *, dpi: int = 100) -> bytes:
    """The report figure: today's equity, 30 sessions of equity vs buy and hold, daily PnL,
    drawdown, and tables of the day's trades and end-of-day positions."""
    fig = Figure(figsize=(11, 12.5))
    FigureCanvasAgg(fig)  # attaches itself to the figure: savefig renders with Agg
    grid = fig.add_gridspec(
        5,
        2,
        height_ratios=[2.2, 2.2, 1.4, 1.2, 2.0],
        hspace=0.6,
        wspace=0.08,
        top=0.92,
        bottom=0.02,
        left=0.08,
        right=0.97,
    )
    synthetic = f"\n{SYNTHETIC_NOTE}" if figures.synthetic else ""
    fig.suptitle(
        title_of(figures) + synthetic, fontsize=11, color="darkred" if figures.synthetic else "black"
    )

    _intraday(fig.add_subplot(grid[0, :]), figures)
    days = [p.day for p in figures.trailing]
    ax = fig.add_subplot(grid[1, :])
    ax.plot(
        days, [p.equity for p in figures.trailing], marker="o", markersize=3, label="strategy (day's close)"
    )
    if any(p.buy_and_hold is not None for p in figures.trailing):
        ax.plot(
            days,
            [p.buy_and_hold for p in figures.trailing],
            color="tab:gray",
            linestyle="--",
            label="buy and hold (equal weight, no costs)",
        )
    else:
        ax.text(0.01, 0.05, "buy and hold: no bars in the journal", transform=ax.transAxes, fontsize=8)
    ax.set_title(f"last {len(days)} sessions with equity", fontsize=9)
    _style(ax, dollars=True)

    ax = fig.add_subplot(grid[2, :], sharex=ax)
    pnl = [p.pnl for p in figures.trailing]
    ax.bar(days, pnl, color=["tab:green" if v >= 0 else "tab:red" for v in pnl], width=0.7)
    ax.set_ylabel("daily PnL ($)")
    _style(ax)

    ax = fig.add_subplot(grid[3, :], sharex=ax)
    ax.fill_between(
        days, [-100 * p.drawdown for p in figures.trailing], 0, color="tab:red", alpha=0.4, step="mid"
    )
    ax.set_ylabel("drawdown (%)")
    _style(ax)
    ax.xaxis.set_major_formatter(DateFormatter("%m-%d"))

    _table(
        fig.add_subplot(grid[4, 0]),
        "trades today",
        ["time (NY)", "symbol", "side", "qty", "price", "fee"],
        [
            [
                t.ts.astimezone(NEW_YORK).strftime("%H:%M"),
                t.symbol,
                t.side,
                f"{t.qty:,}",
                f"{t.price:,.2f}",
                f"{t.commission:,.2f}",
            ]
            for t in figures.trades
        ],
    )
    _table(
        fig.add_subplot(grid[4, 1]),
        "positions at the close",
        ["symbol", "qty", "avg cost", "last close"],
        [[h.symbol, f"{h.qty:,}", f"{h.avg_cost:,.2f}", price(h.last_close)] for h in figures.positions],
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _intraday(ax, figures: DailyFigures) -> None:
    times = [ts.astimezone(NEW_YORK).replace(tzinfo=None) for ts, _ in figures.intraday]  # NY wall clock
    ax.plot(
        times,
        [eq for _, eq in figures.intraday],
        marker="o" if len(times) < 30 else None,
        markersize=3,
        label="strategy",
    )
    if figures.intraday_buy_and_hold is not None:
        ax.plot(times, figures.intraday_buy_and_hold, color="tab:gray", linestyle="--", label="buy and hold")
    ax.axhline(figures.start_equity, color="black", linewidth=0.6, alpha=0.5, label="previous close")
    ax.set_title(
        f"{figures.day.isoformat()}: PnL {money(figures.pnl)} ({figures.return_pct:+.2f}%), New York time",
        fontsize=9,
    )
    _style(ax, dollars=True)
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M"))


def _style(ax, *, dollars: bool = False) -> None:
    if dollars:
        ax.yaxis.set_major_formatter(_DOLLARS)
        ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)


def _table(ax, title: str, header: list[str], rows: list[list[str]]) -> None:
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    if not rows:
        ax.text(0.5, 0.8, "none", ha="center", fontsize=9)
        return
    shown = rows[:TABLE_ROWS]
    if len(rows) > TABLE_ROWS:
        shown.append([f"... {len(rows) - TABLE_ROWS} more"] + [""] * (len(header) - 1))
    table = ax.table(cellText=shown, colLabels=header, loc="upper center", cellLoc="right")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, 1.15)
