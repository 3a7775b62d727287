"""The daily report's figures against the journal: plain SQL in the test, New York day boundaries
across the end of daylight saving, holidays and the half day after Thanksgiving."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from reportkit import RUN

from bot.errors import DataError
from bot.journal.store import Journal
from bot.report.daily_data import NotTradingDay, day_bounds, last_equity_day, load_daily
from bot.report.daily_figure import render_png

# New York midnights of 2024-11-29 (EST, UTC-5) spelled by hand, not by the code under test
NOV29 = ("2024-11-29T05:00:00+00:00", "2024-11-30T05:00:00+00:00")


@pytest.fixture
def journal(journal_file: Path):
    j = Journal(journal_file, readonly=True)
    yield j
    j.close()


def one(j: Journal, sql: str, *params):
    return j.query(sql, params)[0][0]


def test_half_day_figures_equal_plain_sql(journal: Journal) -> None:
    lo, hi = NOV29
    f = load_daily(journal, date(2024, 11, 29))
    assert f.run_id == RUN and f.mode == "dry-run"  # preferred over the simulation with rows that day
    assert f.early_close and f.synthetic
    end = one(
        journal,
        "SELECT equity FROM equity WHERE run_id=? AND ts>=? AND ts<? ORDER BY ts DESC LIMIT 1",
        RUN,
        lo,
        hi,
    )
    prev = one(journal, "SELECT equity FROM equity WHERE run_id=? AND ts<? ORDER BY ts DESC LIMIT 1", RUN, lo)
    fees = one(journal, "SELECT SUM(commission) FROM fills WHERE run_id=? AND ts>=? AND ts<?", RUN, lo, hi)
    exposure = one(
        journal,
        "SELECT positions_value/equity FROM equity WHERE run_id=? AND ts>=? AND ts<?"
        " ORDER BY ts DESC LIMIT 1",
        RUN,
        lo,
        hi,
    )
    halts = one(
        journal,
        "SELECT COUNT(*) FROM decisions WHERE run_id=? AND verdict='halt' AND ts>=? AND ts<?",
        RUN,
        lo,
        hi,
    )
    wins = journal.query(
        "SELECT f.price > (SELECT SUM(b.qty*b.price)/SUM(b.qty) FROM fills b WHERE b.run_id=f.run_id"
        " AND b.symbol=f.symbol AND b.side='buy' AND b.ts<f.ts) FROM fills f"
        " WHERE f.run_id=? AND f.side='sell' AND f.ts>=? AND f.ts<?",
        (RUN, lo, hi),
    )
    assert (f.start_equity, f.end_equity) == (prev, end)
    assert f.pnl == pytest.approx(end - prev)
    assert f.return_pct == pytest.approx(100 * (end - prev) / prev)
    assert f.fees == pytest.approx(fees) == 2.5
    assert f.exposure == pytest.approx(exposure)
    assert f.halts == halts == 1 and f.halted_now
    assert f.win_rate == pytest.approx(sum(w[0] for w in wins) / len(wins)) == 0.5
    assert (f.wins, f.closing_trades) == (1, 2)
    # the half day's rows stop at 13:00 New York (18:00 UTC)
    assert [ts.hour for ts, _ in f.intraday] == [15, 16, 17, 18]
    assert [(t.symbol, t.side, t.qty) for t in f.trades] == [
        ("AAPL", "sell", 4),
        ("MSFT", "buy", 10),
        ("MSFT", "sell", 5),
    ]
    assert [t.realized for t in f.trades] == [pytest.approx(20.0), None, pytest.approx(-50.0)]
    positions = {h.symbol: (h.qty, h.avg_cost) for h in f.positions}
    assert positions == {"AAPL": (6, 100.0), "MSFT": (5, 200.0)}
    last_close = one(
        journal,
        "SELECT close FROM bars WHERE source='sample' AND symbol='AAPL' AND timeframe='1Hour'"
        " AND ts<? ORDER BY ts DESC LIMIT 1",
        hi,
    )
    assert f.positions[0].last_close == last_close


def test_trailing_window_pnl_drawdown_and_buy_and_hold(journal: Journal) -> None:
    f = load_daily(journal, date(2024, 11, 29))
    days = [p.day for p in f.trailing]
    assert days[-1] == date(2024, 11, 29) and date(2024, 11, 28) not in days  # Thanksgiving
    assert days[0] == date(2024, 10, 28)  # the journal's first session (the window reaches further back)
    for before, point in zip(f.trailing, f.trailing[1:]):
        assert point.pnl == pytest.approx(point.equity - before.equity)
    assert f.trailing[-1].pnl == pytest.approx(f.pnl)
    peak = one(journal, "SELECT MAX(equity) FROM equity WHERE run_id=? AND ts<?", RUN, NOV29[1])
    assert f.drawdown == pytest.approx(1 - f.end_equity / peak)
    # equal weight from the window's first close, scaled to the equity then
    assert f.trailing[0].buy_and_hold == pytest.approx(f.trailing[0].equity)
    assert all(p.buy_and_hold is not None for p in f.trailing)
    assert f.intraday_buy_and_hold is not None and f.intraday_buy_and_hold[0] == pytest.approx(
        f.intraday[0][1]
    )


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2024, 12, 25), "NYSE holiday"),
        (date(2024, 11, 28), "NYSE holiday"),
        (date(2024, 11, 30), "weekend"),
    ],
)
def test_not_a_trading_day(journal: Journal, day: date, why: str) -> None:
    with pytest.raises(NotTradingDay, match=f"{day.isoformat()} is not a trading day \\({why}\\)"):
        load_daily(journal, day)


def test_no_rows_on_a_trading_day_names_journal_and_date(journal: Journal) -> None:
    with pytest.raises(DataError) as caught:
        load_daily(journal, date(2024, 12, 10))
    assert str(journal.path) in str(caught.value) and "2024-12-10" in str(caught.value)
    with pytest.raises(DataError, match="no run 'nope'"):
        load_daily(journal, date(2024, 11, 29), run_id="nope")


def test_day_boundaries_follow_daylight_saving(journal: Journal) -> None:
    # the day DST ends is 25 hours long, the day it starts 23
    assert day_bounds(date(2024, 11, 3)) == (
        datetime(2024, 11, 3, 4, tzinfo=UTC),
        datetime(2024, 11, 4, 5, tzinfo=UTC),
    )
    assert day_bounds(date(2024, 3, 10))[1] - day_bounds(date(2024, 3, 10))[0] == (
        datetime(2024, 3, 11, 4) - datetime(2024, 3, 10, 5)
    )  # 23 hours
    # Mon Nov 4 (EST): the row at 2024-11-04T04:30Z is Sunday 23:30 -> the previous close;
    # the row at 2024-11-05T04:30Z is Monday 23:30 -> Monday's last row
    nov4 = load_daily(journal, date(2024, 11, 4))
    assert nov4.start_equity == 100_333.0 and nov4.end_equity == 100_444.0
    assert nov4.intraday[-1][0] == datetime(2024, 11, 5, 4, 30, tzinfo=UTC)
    assert all(ts > datetime(2024, 11, 4, 5, tzinfo=UTC) for ts, _ in nov4.intraday)
    # Fri Nov 1 (EDT): 2024-11-01T04:30Z is 00:30 New York, Friday's first row
    nov1 = load_daily(journal, date(2024, 11, 1))
    assert nov1.intraday[0] == (datetime(2024, 11, 1, 4, 30, tzinfo=UTC), 100_111.0)
    # 20:30 UTC on Nov 4 is 15:30 New York: Nov 4 (the 16:00 row is 21:00 UTC after the change)
    assert any(ts == datetime(2024, 11, 4, 21, tzinfo=UTC) for ts, _ in nov4.intraday)


def test_default_day_and_run_choice(journal: Journal) -> None:
    assert last_equity_day(journal) == date(2024, 12, 2)
    assert last_equity_day(journal, "sim-1") == date(2024, 11, 29)
    sim = load_daily(journal, date(2024, 11, 29), run_id="sim-1")
    assert sim.mode == "simulate" and sim.trades == () and sim.win_rate is None
    # no 1Day bars in the journal: buy and hold is left out, the figure still draws
    assert sim.intraday_buy_and_hold is None and all(p.buy_and_hold is None for p in sim.trailing)
    assert render_png(sim)[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_closing_trade_means_no_win_rate(journal: Journal) -> None:
    f = load_daily(journal, date(2024, 11, 27))
    assert [t.side for t in f.trades] == ["buy"] and f.win_rate is None and f.fees == 1.0
    assert f.halts == 1 and not f.early_close


def test_average_cost_through_shorts_and_flips(tmp_path: Path) -> None:
    from bot.broker.base import Fill, Side

    j = Journal(tmp_path / "j.sqlite")
    j.start_run(
        "r",
        "paper",
        source="alpaca",
        synthetic=False,
        strategy="s",
        symbols=["X"],
        timeframe="1Day",
        config={},
    )
    at = datetime(2024, 11, 29, 16, tzinfo=UTC)
    j.add_equity("r", at, 1000.0, 1000.0, 0.0)
    fills = [("sell", 10, 50.0), ("buy", 4, 45.0), ("buy", 10, 55.0), ("sell", 4, 60.0), ("buy", 3, 70.0)]
    for n, (side, qty, px) in enumerate(fills):  # a short, a cover (win), a flip (loss), a sale (win), a buy
        j.record_fill("r", Fill(f"c{n}", "X", Side(side), qty, px, 0.0, at))
    j.close()
    with Journal(tmp_path / "j.sqlite", readonly=True) as ro:
        f = load_daily(ro, date(2024, 11, 29))
    assert [t.realized for t in f.trades] == [None, 20.0, -30.0, 20.0, None]
    assert (f.wins, f.closing_trades) == (2, 3)
    assert [(h.symbol, h.qty, h.avg_cost, h.last_close) for h in f.positions] == [("X", 3, 70.0, None)]
    assert f.synthetic is False and f.pnl == 0.0  # one row: the day starts and ends at it
