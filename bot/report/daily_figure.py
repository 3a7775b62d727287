"""The daily report's figure as PNG bytes.

Object-oriented matplotlib only (``Figure`` + the Agg canvas, never pyplot): the daemon draws it in a
worker thread, and pyplot's global figure registry is neither thread-safe nor needed.
"""

from __future__ import annotations

import io
import math
from datetime import datetime, time, timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bot.report.daily_data import NEW_YORK, DailyFigures
from bot.report.daily_text import money, price

SYNTHETIC_NOTE = "SYNTHETIC data: these results mean nothing about real markets"
#: rows shown per table; a busy day says how many more there were
TABLE_ROWS = 12
#: height of a table row (8-point text)
ROW_INCHES = 0.2
#: most date labels on the trailing panels' axis
MAX_DATE_LABELS = 10
#: fewest session slots on that axis (so that a bar keeps a sensible width)
MIN_SLOTS = 10
_DOLLARS = FuncFormatter(lambda v, _: f"${v:,.0f}")


def title_of(figures: DailyFigures) -> str:
    early = " (early close)" if figures.early_close else ""
    return (
        f"Daily report {figures.day.isoformat()}{early} - run {figures.run_id} "
        f"({figures.mode}, {figures.strategy}, {','.join(figures.symbols)}, {figures.timeframe})"
    )


def render_png(figures: DailyFigures, *, dpi: int = 100) -> bytes:
    """The report figure (``draw``) as PNG bytes."""
    buffer = io.BytesIO()
    draw(figures).savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def draw(figures: DailyFigures) -> Figure:
    """The report figure: today's equity, the trailing sessions' equity vs buy and hold, daily
    PnL, drawdown, and tables of the day's trades (the most recent ``TABLE_ROWS``) and positions."""
    fig = Figure(figsize=(11, 13))
    FigureCanvasAgg(fig)  # attaches itself to the figure: savefig renders with Agg
    grid = fig.add_gridspec(
        5,
        2,
        height_ratios=[2.1, 2.1, 1.3, 1.1, 3.0],
        hspace=0.55,
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
    axis = SessionAxis(figures)
    equity_ax = fig.add_subplot(grid[1, :])
    _trailing_equity(equity_ax, figures, axis)
    pnl_ax = fig.add_subplot(grid[2, :], sharex=equity_ax)
    pnl = [p.pnl for p in figures.trailing]
    pnl_ax.bar(axis.of(figures), pnl, color=["tab:green" if v >= 0 else "tab:red" for v in pnl], width=0.7)
    pnl_ax.axhline(0, color="black", linewidth=0.6)
    pnl_ax.set_ylabel("daily PnL ($)")
    dd_ax = fig.add_subplot(grid[3, :], sharex=equity_ax)
    drawdown = [-100 * p.drawdown for p in figures.trailing]
    dd_ax.bar(axis.of(figures), drawdown, color="tab:red", alpha=0.45, width=0.7)
    dd_ax.set_ylim(min(-0.1, 1.15 * min(drawdown)), 0)  # a flat day still shows its zero
    dd_ax.set_ylabel("drawdown (%)")
    for ax in (equity_ax, pnl_ax, dd_ax):
        axis.apply(ax)
        _style(ax, dollars=ax is equity_ax)

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
        keep="last",
    )
    _table(
        fig.add_subplot(grid[4, 1]),
        "positions at the close",
        ["symbol", "qty", "avg cost", "last close"],
        [[h.symbol, f"{h.qty:,}", f"{h.avg_cost:,.2f}", price(h.last_close)] for h in figures.positions],
        keep="first",
    )
    return fig


class SessionAxis:
    """The trailing panels' x axis: one slot per NYSE session (``figures.sessions``), so weekends
    and holidays take no room, a bar is a session wide whatever the count, and each label is a
    different date. Sessions without equity rows are shaded, and nothing is drawn across them."""

    def __init__(self, figures: DailyFigures) -> None:
        self.sessions = list(figures.sessions)
        self.slot = {day: i for i, day in enumerate(self.sessions)}
        self.missing = [
            i for i, day in enumerate(self.sessions) if day not in {p.day for p in figures.trailing}
        ]

    def of(self, figures: DailyFigures) -> list[int]:
        """The slot of each trailing point."""
        return [self.slot[p.day] for p in figures.trailing]

    def series(self, figures: DailyFigures, values: list[float | None]) -> list[float]:
        """``values`` (one per trailing point) spread over every slot, NaN where there is no data:
        matplotlib breaks a line at NaN, so no line crosses a session without rows."""
        out = [math.nan] * len(self.sessions)
        for i, value in zip(self.of(figures), values, strict=True):
            out[i] = math.nan if value is None else value
        return out

    def ticks(self) -> tuple[list[int], list[str]]:
        """At most ``MAX_DATE_LABELS`` labels, evenly spaced, the report's day always labelled."""
        n = len(self.sessions)
        step = max(1, math.ceil(n / MAX_DATE_LABELS))
        slots = list(range(n - 1, -1, -step))[::-1]
        same_year = self.sessions[0].year == self.sessions[-1].year
        return slots, [self.sessions[i].strftime("%m-%d" if same_year else "%Y-%m-%d") for i in slots]

    def apply(self, ax) -> None:
        slots, labels = self.ticks()
        ax.set_xticks(slots, labels)
        # room for MIN_SLOTS sessions at least, the data at the right: one session's bar is not
        # the whole width of the page
        ax.set_xlim(len(self.sessions) - max(len(self.sessions), MIN_SLOTS) - 0.6, len(self.sessions) - 0.4)
        for i in self.missing:
            ax.axvspan(i - 0.5, i + 0.5, color="0.92", zorder=0)


def _trailing_equity(ax, figures: DailyFigures, axis: SessionAxis) -> None:
    slots = range(len(axis.sessions))
    ax.plot(
        slots,
        axis.series(figures, [p.equity for p in figures.trailing]),
        marker="o",
        markersize=3,
        label="strategy (day's close)",
    )
    if any(p.buy_and_hold is not None for p in figures.trailing):
        ax.plot(
            slots,
            axis.series(figures, [p.buy_and_hold for p in figures.trailing]),
            color="tab:gray",
            linestyle="--",
            marker=".",
            markersize=3,
            label="buy and hold (equal weight, no costs)",
        )
    else:
        ax.text(0.01, 0.05, "buy and hold: no bars in the journal", transform=ax.transAxes, fontsize=8)
    gaps = f"; {len(axis.missing)} without equity rows (shaded)" if axis.missing else ""
    ax.set_title(f"last {len(figures.trailing)} sessions with equity{gaps}", fontsize=9)


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
        ax.plot(
            times,
            figures.intraday_buy_and_hold,
            color="tab:gray",
            linestyle="--",
            marker="." if len(times) < 30 else None,
            label="buy and hold",
        )
    ax.axhline(figures.start_equity, color="black", linewidth=0.6, alpha=0.5, label="previous close")
    ax.set_title(
        f"{figures.day.isoformat()}: PnL {money(figures.pnl)} ({figures.return_pct:+.2f}%), New York time",
        fontsize=9,
    )
    _style(ax, dollars=True)
    # the regular session at least (a lone daily row is not a whole axis of repeated ticks)
    opens = datetime.combine(figures.day, time(9, 30))
    closes = datetime.combine(figures.day, time(13, 0) if figures.early_close else time(16, 0))
    ax.set_xlim(min([opens, *times]) - timedelta(minutes=10), max([closes, *times]) + timedelta(minutes=10))
    locator = AutoDateLocator(minticks=4, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M"))


def _style(ax, *, dollars: bool = False) -> None:
    if dollars:
        ax.yaxis.set_major_formatter(_DOLLARS)
        ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)


def _table(ax, title: str, header: list[str], rows: list[list[str]], *, keep: str) -> None:
    """A table of at most ``TABLE_ROWS`` rows (the most recent, or the first, per ``keep``) laid
    inside its axes; the title says how many more there are (the email lists them all)."""
    ax.axis("off")
    if not rows:
        ax.set_title(title, fontsize=9)
        ax.text(0.5, 0.8, "none", ha="center", fontsize=9)
        return
    shown = rows[-TABLE_ROWS:] if keep == "last" else rows[:TABLE_ROWS]
    more = len(rows) - len(shown)
    if more:
        which = "last" if keep == "last" else "first"
        title = f"{title}: the {which} {len(shown)}, and {more} more (all in the email and its CSV)"
    ax.set_title(title, fontsize=9)
    fig = ax.get_figure()
    height_in = ax.get_position().height * fig.get_figheight()
    lines = len(shown) + 1  # the header too
    height = min(1.0, lines * ROW_INCHES / height_in)  # rows shrink (never spill) on a short page
    table = ax.table(cellText=shown, colLabels=header, cellLoc="right", bbox=[0, 1 - height, 1, height])
    table.auto_set_font_size(False)
    table.set_fontsize(8)
