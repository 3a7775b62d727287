"""The words and numbers of the daily report: its subject, the plain-text and the HTML bodies
(every trade of the day in both), and the trades as CSV (attached to the email).

Both bodies print the same (label, value) pairs from ``figure_lines``, so the two parts cannot
disagree with each other or with ``DailyFigures``. Standard library only.
"""

from __future__ import annotations

import csv
import html
import io
from datetime import UTC

from bot.report.daily_data import NEW_YORK, DailyFigures


def money(value: float) -> str:
    """Signed dollars to the cent, as the email and the figure spell them: +$1,234.56 / -$0.50."""
    cents = round(value, 2)
    return f"{'-' if cents < 0 else '+'}${abs(cents):,.2f}"


def price(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


def percent(value: float, *, signed: bool = True) -> str:
    rounded = round(value, 2) + 0.0  # + 0.0 turns -0.0 into 0.0: no "-0.00%"
    return f"{rounded:+.2f}%" if signed else f"{rounded:.2f}%"


def subject_of(figures: DailyFigures) -> str:
    synthetic = " [SYNTHETIC]" if figures.synthetic else ""
    return (
        f"Trading bot daily report {figures.day.isoformat()}: PnL {money(figures.pnl)} "
        f"({percent(figures.return_pct)}){synthetic}"
    )


def figure_lines(figures: DailyFigures) -> list[tuple[str, str]]:
    """(label, value) of the report's figures: the text and the HTML part both print these."""
    f = figures
    win = "n/a (no closing trades)"
    if f.win_rate is not None:
        win = f"{percent(100 * f.win_rate, signed=False)} ({f.wins} of {f.closing_trades} closing trades)"
    bh = [p for p in f.trailing if p.buy_and_hold is not None]
    vs = "n/a (no bars journaled)"
    if len(bh) > 1:
        vs = (
            f"{percent(100 * (bh[-1].buy_and_hold / bh[0].buy_and_hold - 1))} vs strategy "
            f"{percent(100 * (bh[-1].equity / bh[0].equity - 1))} since {bh[0].day.isoformat()}"
        )
    return [
        ("PnL", money(f.pnl)),
        ("Return", percent(f.return_pct)),
        ("Fees", f"${f.fees:,.2f}"),
        ("Win rate", win),
        ("Exposure", percent(100 * f.exposure, signed=False)),
        ("Halts", f"{f.halts} today; trading {'HALTED' if f.halted_now else 'active'} now"),
        ("Equity", f"${f.end_equity:,.2f} (previous close ${f.start_equity:,.2f}; cash ${f.cash:,.2f})"),
        ("Drawdown", f"{percent(100 * f.drawdown, signed=False)} below the peak"),
        ("Buy and hold", vs),
        ("Trades", str(len(f.trades))),
    ]


def _tables(figures: DailyFigures) -> list[tuple[str, list[str], list[list[str]]]]:
    trades = [
        [
            t.ts.astimezone(NEW_YORK).strftime("%H:%M:%S"),
            t.symbol,
            t.side,
            f"{t.qty:,}",
            f"{t.price:,.2f}",
            f"{t.commission:,.2f}",
            "" if t.realized is None else money(t.realized),
        ]
        for t in figures.trades
    ]
    positions = [
        [h.symbol, f"{h.qty:,}", f"{h.avg_cost:,.2f}", price(h.last_close)] for h in figures.positions
    ]
    return [
        ("Trades (New York time)", ["time", "symbol", "side", "qty", "price", "fee", "realised"], trades),
        ("Positions at the close", ["symbol", "qty", "avg cost", "last close"], positions),
    ]


def _heading(figures: DailyFigures) -> list[str]:
    f = figures
    lines = [
        f"Trading bot daily report for {f.day.isoformat()} (New York)"
        + (", early close at 13:00" if f.early_close else "")
    ]
    lines.append(
        f"Run {f.run_id} ({f.mode}, strategy {f.strategy}, {', '.join(f.symbols)}, {f.timeframe} bars, "
        f"source {f.source})"
    )
    if f.synthetic:
        lines.append("SYNTHETIC data: these results mean nothing about real markets.")
    return lines


def text_body(figures: DailyFigures) -> str:
    lines = _heading(figures) + [""]
    lines += [f"{label + ':':<14}{value}" for label, value in figure_lines(figures)]
    for title, header, rows in _tables(figures):
        lines += ["", f"{title}:" if rows else f"{title}: none"]
        if rows:
            widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
            lines += ["  " + "  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in [header, *rows]]
    lines += ["", f"Journal: {figures.journal}. The figure and the day's trades (CSV) are attached."]
    return "\n".join(lines) + "\n"


def html_body(figures: DailyFigures, cid: str) -> str:
    e = html.escape
    parts = [f"<h2>{e(_heading(figures)[0])}</h2>"]
    for line in _heading(figures)[1:]:
        style = " style='color:darkred'" if line.startswith("SYNTHETIC") else ""
        parts.append(f"<p{style}>{e(line)}</p>")
    rows = "".join(
        f"\n<tr><th align='left'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in figure_lines(figures)
    )
    parts.append(f"<table cellpadding='3'>{rows}</table>")
    parts.append(f'<p><img src="cid:{cid.strip("<>")}" alt="daily report figure" width="1000"></p>')
    for title, header, body in _tables(figures):
        parts.append(f"<h3>{e(title)}</h3>")
        if not body:
            parts.append("<p>none</p>")
            continue
        head = "".join(f"<th>{e(h)}</th>" for h in header)
        cells = "".join(
            "\n<tr>" + "".join(f"<td align='right'>{e(c)}</td>" for c in r) + "</tr>" for r in body
        )
        parts.append(f"<table border='1' cellspacing='0' cellpadding='3'><tr>{head}</tr>{cells}\n</table>")
    return "<html><body style='font-family:sans-serif'>" + "\n".join(parts) + "</body></html>\n"


TRADES_CSV_HEADER = ["ts_utc", "time_new_york", "symbol", "side", "qty", "price", "commission", "realized"]


def trades_csv(figures: DailyFigures) -> str:
    """Every trade of the day as CSV (the figure shows only the most recent): UTC and New York
    times, full-precision prices, the realised gain of a closing fill (empty for an opening one)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRADES_CSV_HEADER)
    for t in figures.trades:
        writer.writerow(
            [
                t.ts.astimezone(UTC).isoformat(),
                t.ts.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S"),
                t.symbol,
                t.side,
                t.qty,
                repr(t.price),
                repr(t.commission),
                "" if t.realized is None else round(t.realized, 6),
            ]
        )
    return buffer.getvalue()
