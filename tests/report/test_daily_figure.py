"""The daily figure at its edges (issue 17): one, two, a few (with a day without rows) and many
sessions; no, a few and many trades. Each renders without a warning, its date axes never repeat
a label, and the tables stay inside the page."""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from figurekit import LAST_DAY, RUN, build_figure_journal

from bot.config import EmailConfig
from bot.journal.store import Journal
from bot.report.daily_data import load_daily
from bot.report.daily_figure import MAX_DATE_LABELS, TABLE_ROWS, draw, render_png
from bot.report.mail import build_message

LAST_DAY_TZ = ZoneInfo("America/New_York")
CASES = {  # name: (sessions, trades, a session without rows, equity rows a session)
    "1 session": (1, 5, False, 14),
    "2 sessions": (2, 5, False, 14),
    "5 sessions, one without rows": (5, 5, True, 14),
    "60 sessions": (60, 5, False, 14),
    "no trades": (2, 0, False, 14),
    "200 trades": (2, 200, False, 14),
    "1 session of daily bars: one row": (1, 1, False, 1),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request, tmp_path_factory):
    sessions, trades, gap, rows = CASES[request.param]
    path = build_figure_journal(
        tmp_path_factory.mktemp("fig") / "j.sqlite", sessions, trades, gap=gap, rows=rows
    )
    with Journal(path, readonly=True) as journal:
        return request.param, load_daily(journal, LAST_DAY, run_id=RUN)


def test_renders_without_warnings(case):
    _, figures = case
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = render_png(figures)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000


def test_date_axes_never_repeat_a_label_and_bars_keep_their_width(case):
    name, figures = case
    fig = draw(figures)
    fig.canvas.draw()
    intraday, equity, pnl, drawdown = fig.axes[:4]
    labels = [t.get_text() for t in intraday.get_xticklabels()]
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels  # hours of the session
    for ax in (equity, pnl, drawdown):
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert labels and len(set(labels)) == len(labels) <= MAX_DATE_LABELS, (name, labels)
        assert labels[-1] == LAST_DAY.strftime("%m-%d")  # the report's day is always labelled
    axes_width = pnl.get_window_extent().width
    (bars,) = pnl.containers
    for bar in bars:  # a session's bar, never a page-wide slab
        assert bar.get_window_extent().width < axes_width / 8
    assert len(bars) == len(figures.trailing)
    if "without rows" in name:  # nothing drawn across the missing session: the line breaks there
        missing = [i for i, d in enumerate(figures.sessions) if d not in {p.day for p in figures.trailing}]
        assert len(missing) == 1
        ys = equity.lines[0].get_ydata()
        assert ys[missing[0]] != ys[missing[0]]  # NaN
        assert len(drawdown.containers[0]) == len(figures.trailing)  # bars, no area across the gap


def test_tables_stay_inside_the_page(case):
    name, figures = case
    fig = draw(figures)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    trades_ax = fig.axes[4]
    for ax in fig.axes[4:]:
        for table in ax.tables:
            box = table.get_window_extent(renderer)
            assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, name
            assert box.y0 >= ax.get_window_extent().y0 - 1  # and inside its own panel
    if figures.trades:
        rows = {row for row, _ in trades_ax.tables[0].get_celld()}
        assert len(rows) == min(len(figures.trades), TABLE_ROWS) + 1  # with the header
    if len(figures.trades) > TABLE_ROWS:
        more = len(figures.trades) - TABLE_ROWS
        assert f"the last {TABLE_ROWS}, and {more} more" in trades_ax.get_title()
        last = figures.trades[-1].ts.astimezone(LAST_DAY_TZ).strftime("%H:%M")
        cells = trades_ax.tables[0].get_celld()
        assert cells[(TABLE_ROWS, 0)].get_text().get_text() == last  # the most recent are shown


def test_the_email_lists_every_trade_the_figure_leaves_out(tmp_path: Path):
    path = build_figure_journal(tmp_path / "j.sqlite", 2, 200)
    with Journal(path, readonly=True) as journal:
        figures = load_daily(journal, LAST_DAY, run_id=RUN)
    message = build_message(figures, render_png(figures), EmailConfig())
    html = message.get_body(("html",)).get_content()
    assert html.count("<td align='right'>") >= 200 * 7  # every trade, seven columns
    (attached,) = [p for p in message.walk() if p.get_content_type() == "text/csv"]
    rows = list(csv.DictReader(io.StringIO(attached.get_content())))
    assert len(rows) == 200 == len(figures.trades)
    assert [float(r["price"]) for r in rows] == [t.price for t in figures.trades]
    assert rows[-1]["time_new_york"].endswith(
        figures.trades[-1].ts.astimezone(LAST_DAY_TZ).strftime("%H:%M:%S")
    )
