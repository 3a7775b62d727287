"""One New York trading day of one run, read from the journal: the figures of the daily report.

Day boundaries are New York midnights (``zoneinfo``, so DST changes are exact); a day that is not an
NYSE session (``exchange_calendars`` XNYS) raises ``NotTradingDay``. Early-close sessions (13:00)
are ordinary days. Figures come from the journal's typed reads (``bot.journal.reads``), bounded by
the UTC instants of those midnights.

Definitions (the email and the figure show exactly these numbers):

- *end equity*: the run's last equity row of day D; *start equity*: the run's last equity row
  before D (the previous trading day's close), or D's first row when the run has none before D.
- *PnL* = end - start; *return* = PnL / start (percent). Each trailing day's PnL is defined alike.
- *fees*: commissions of D's fills. *win rate*: share of D's closing fills (sells of longs, buys
  covering shorts) priced better than the position's running average cost; None without any.
- *exposure*: positions_value / equity of D's last row. *drawdown*: fall of a day's end equity
  below the highest equity the run recorded up to then (intraday rows included), a fraction.
- *halts*: D's 'halt' decisions of the run; *halted_now*: the kill switch's current state (the
  control table keeps no history).
- *buy and hold*: equal weight of the run's symbols from the journaled bars (the run's source and
  timeframe), scaled to the equity of the first point; a bar counts once its start is before the
  equity row's time. Missing bars leave it None (the report says so) rather than failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from bot.calendar.timeframes import NEW_YORK
from bot.errors import BotError, DataError
from bot.journal.positions import Lot, apply_fill, signed
from bot.journal.records import RunRecord
from bot.journal.store import Journal
from risk.killswitch import CONTROL_KEY, HALTED

TRAILING_SESSIONS = 30
#: modes a live report prefers over simulations when the journal holds both
LIVE_MODES = ("paper", "dry-run")


class NotTradingDay(BotError):
    """The date is no NYSE session: nothing to report (not an error: exit code 0)."""

    exit_code = 0

    def __init__(self, day: date, why: str) -> None:
        super().__init__(f"{day.isoformat()} is not a trading day ({why}): no report")
        self.day = day
        self.why = why


@dataclass(frozen=True)
class Trade:
    ts: datetime  # UTC
    symbol: str
    side: str
    qty: int
    price: float
    commission: float
    #: gain of a closing fill against the average cost (None for an opening fill)
    realized: float | None


@dataclass(frozen=True)
class Holding:
    symbol: str
    qty: int  # negative = short
    avg_cost: float
    last_close: float | None  # None when the journal holds no bar of the symbol


@dataclass(frozen=True)
class DayPoint:
    day: date
    equity: float  # the day's end equity
    pnl: float
    drawdown: float  # fraction below the peak
    buy_and_hold: float | None


@dataclass(frozen=True)
class DailyFigures:
    """Everything the daily report shows for New York date ``day`` of run ``run_id``."""

    journal: Path
    day: date
    early_close: bool
    run_id: str
    mode: str
    strategy: str
    symbols: tuple[str, ...]
    timeframe: str
    source: str
    synthetic: bool
    start_equity: float
    end_equity: float
    cash: float
    pnl: float
    return_pct: float
    fees: float
    win_rate: float | None
    wins: int
    closing_trades: int
    exposure: float
    drawdown: float
    halts: int
    halted_now: bool
    intraday: tuple[tuple[datetime, float], ...]  # (UTC time, equity) of every row of D
    intraday_buy_and_hold: tuple[float, ...] | None  # aligned with ``intraday``
    trailing: tuple[DayPoint, ...]  # the trailing sessions up to D that have equity rows
    #: every NYSE session from the first of ``trailing`` to D, those without equity rows included
    #: (the figure's date axis: a gap in the data shows as a gap, not as a line across it)
    sessions: tuple[date, ...]
    trades: tuple[Trade, ...]
    positions: tuple[Holding, ...]  # at the end of D, flat symbols left out


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a New York date in UTC (23 or 25 hours long on DST change days)."""
    start = datetime.combine(day, time(0), NEW_YORK)
    end = datetime.combine(day + timedelta(days=1), time(0), NEW_YORK)
    return start.astimezone(UTC), end.astimezone(UTC)


def new_york_date(ts: datetime) -> date:
    """The New York date of a time."""
    return ts.astimezone(NEW_YORK).date()


def sessions_up_to(day: date, count: int = TRAILING_SESSIONS) -> tuple[list[date], bool]:
    """The ``count`` NYSE sessions ending with ``day`` and whether ``day`` closes early.

    Raises ``NotTradingDay`` when ``day`` is a weekend or an exchange holiday.
    """
    if day.weekday() >= 5:
        raise NotTradingDay(day, "weekend")
    try:
        from bot.calendar.exchange import xnys

        calendar = xnys(day.year - 1, day.year)  # a year back covers 30 sessions
    except Exception as exc:  # dates outside what the calendar library knows
        raise DataError(f"no NYSE calendar for {day.isoformat()}: {exc}") from None
    if not calendar.is_session(day.isoformat()):
        raise NotTradingDay(day, "NYSE holiday")
    sessions = [ts.date() for ts in calendar.sessions_window(day.isoformat(), -count)]
    close = calendar.session_close(day.isoformat()).tz_convert(NEW_YORK)
    return sessions, (close.hour, close.minute) < (16, 0)


def last_equity_day(journal: Journal, run_id: str | None = None) -> date:
    """The New York date of the last equity row: of ``run_id``, else of the live runs, else of any."""
    if run_id is not None:
        last = journal.last_equity_time(run_id=run_id)
    else:
        last = journal.last_equity_time(modes=LIVE_MODES) or journal.last_equity_time()
    if last is None:
        who = f"run {run_id}" if run_id else "any run"
        raise DataError(f"{journal.path}: no equity rows of {who}: nothing to report yet")
    return new_york_date(last)


def _pick_run(journal: Journal, day: date, start: datetime, end: datetime, run_id: str | None) -> RunRecord:
    if run_id is not None:
        run = journal.run(run_id)
        if run is None:
            raise DataError(f"{journal.path}: no run {run_id!r}")
        if not journal.has_equity_between(start, end, run_id=run_id):
            raise DataError(
                f"{journal.path}: run {run_id} has no equity rows on {day.isoformat()} (New York)"
            )
        return run
    run = journal.latest_run_with_equity(start, end, prefer_modes=LIVE_MODES)
    if run is None:
        raise DataError(f"{journal.path}: no equity rows on {day.isoformat()} (New York): nothing to report")
    return run


def load_daily(journal: Journal, day: date, run_id: str | None = None) -> DailyFigures:
    """The report's figures for New York date ``day``.

    Raises ``NotTradingDay`` (not a session) or ``DataError`` (no run with equity rows that day).
    """
    sessions, early_close = sessions_up_to(day)
    start, end = day_bounds(day)
    run = _pick_run(journal, day, start, end, run_id)
    rid = run.run_id
    symbols = tuple(s for s in run.symbols if s)
    bars = _Bars(journal, run.source or "", run.timeframe or "", symbols)

    rows = journal.equity_between(start, end, run_id=rid)
    intraday = tuple((r.ts, r.equity) for r in rows)
    first, last = rows[0], rows[-1]
    before = journal.last_equity_before(start, run_id=rid)  # the previous close
    start_equity = first.equity if before is None else before.equity
    end_equity = last.equity
    pnl = end_equity - start_equity

    trades, positions_now, wins, closing = _trades(journal, rid, start, end)
    fees = sum(t.commission for t in trades)
    halts = journal.halt_count(rid, start, end)
    trailing = _trailing(journal, rid, sessions, bars)
    return DailyFigures(
        journal=journal.path,
        day=day,
        early_close=early_close,
        run_id=rid,
        mode=run.mode,
        strategy=run.strategy or "",
        symbols=symbols,
        timeframe=run.timeframe or "",
        source=run.source or "",
        synthetic=run.synthetic,
        start_equity=start_equity,
        end_equity=end_equity,
        cash=last.cash,
        pnl=pnl,
        return_pct=100.0 * pnl / start_equity if start_equity else 0.0,
        fees=fees,
        win_rate=wins / closing if closing else None,
        wins=wins,
        closing_trades=closing,
        exposure=last.positions_value / end_equity if end_equity else 0.0,
        drawdown=trailing[-1].drawdown,  # D has rows, so it is the last point
        halts=halts,
        halted_now=journal.control_value(CONTROL_KEY) == HALTED,
        intraday=intraday,
        intraday_buy_and_hold=bars.curve([r.ts for r in rows], first.equity),
        trailing=trailing,
        sessions=tuple(d for d in sessions if d >= trailing[0].day),
        trades=tuple(trades),
        positions=tuple(
            Holding(s, lot.qty, lot.avg_cost, bars.close_before(s, end))
            for s, lot in sorted(positions_now.items())
            if lot.qty
        ),
    )


def _trades(
    journal: Journal, run_id: str, start: datetime, end: datetime
) -> tuple[list[Trade], dict[str, Lot], int, int]:
    """D's fills with their realised gain, positions at ``end``, wins, closings.

    The average cost is replayed over all of the run's fills (``bot.journal.positions``, the one
    accounting ``status`` uses too): it is what a closing fill is judged by.
    """
    book: dict[str, Lot] = {}
    trades: list[Trade] = []
    wins = closing = 0
    for f in journal.fills(run_id, before=end):
        if not f.qty:
            continue
        book[f.symbol], realized = apply_fill(book.get(f.symbol, Lot()), signed(f), f.price)
        if f.ts >= start:
            if realized is not None:
                closing += 1
                wins += realized > 0
            trades.append(Trade(f.ts, f.symbol, f.side, f.qty, f.price, f.commission, realized))
    return trades, book, wins, closing


def _trailing(journal: Journal, run_id: str, sessions: list[date], bars: _Bars) -> tuple[DayPoint, ...]:
    first_start = day_bounds(sessions[0])[0]
    peak = journal.peak_equity(first_start, run_id=run_id)
    before = journal.last_equity_before(first_start, run_id=run_id)
    previous: float | None = None if before is None else before.equity
    points: list[tuple[date, datetime, float, float, float]] = []
    for session in sessions:
        span = journal.equity_range(*day_bounds(session), run_id=run_id)
        if span is None:
            continue
        end_eq = span.last.equity
        base = (
            span.first.equity if previous is None else previous
        )  # the run's first day starts at its first row
        peak = span.high if peak is None else max(peak, span.high)
        points.append((session, span.last.ts, end_eq, end_eq - base, 1.0 - end_eq / peak if peak else 0.0))
        previous = end_eq
    curve = bars.curve([p[1] for p in points], points[0][2]) if points else None
    return tuple(
        DayPoint(d, eq, pnl, dd, None if curve is None else curve[i])
        for i, (d, _, eq, pnl, dd) in enumerate(points)
    )


class _Bars:
    """Closes of the run's symbols from the bars table (the run's source and timeframe)."""

    def __init__(self, journal: Journal, source: str, timeframe: str, symbols: tuple[str, ...]) -> None:
        self.journal, self.source, self.timeframe, self.symbols = journal, source, timeframe, symbols

    def close_before(self, symbol: str, ts: datetime) -> float | None:
        """Close of the last bar that started before ``ts``."""
        return self.journal.last_close_before(self.source, symbol, self.timeframe, ts)

    def curve(self, stamps: list[datetime], initial: float) -> tuple[float, ...] | None:
        """Equal-weight buy and hold at each of ``stamps``, worth ``initial`` at the first one.

        A symbol without a bar by the first stamp is left out (it could not have been bought);
        None when no symbol has one.
        """
        if not stamps or not self.symbols:
            return None
        columns = []
        for symbol in self.symbols:
            closes = [self.close_before(symbol, ts) for ts in stamps]
            base = closes[0]
            if base:  # later stamps then have a bar too: they come after the first
                columns.append([(c or base) / base for c in closes])
        if not columns:
            return None
        return tuple(initial * sum(col[i] for col in columns) / len(columns) for i in range(len(stamps)))
