"""The sample market: a seeded, SYNTHETIC bar and news feed, the default when there is no data.

Everything here is made up. Five fictional companies (Acme Corp, Globex, Initech, Umbrella Corp,
Hooli) trade on the real NYSE calendar from 2018-01-02 to 2024-12-31. Results on this market say
nothing about real markets: they only show that the pipeline runs and that a model can find the
effects that were deliberately built in, which are:

- **volatility clustering and fat tails**: GARCH(1,1) variance (persistence 0.98, volatility
  capped at three times normal) with Student-t (5 degrees of freedom) shocks, for each company
  and for a common market factor;
- **correlation**: returns = drift + beta * market factor + idiosyncratic shock (pairwise
  correlation about 0.3-0.5); each company has its own drift, volatility and beta;
- **overnight gaps**: a quarter of each day's variance arrives between the close and the open;
- **volume**: log-normal, higher on big-move days and on news days; U-shaped within the day;
- **intraday path**: a Brownian bridge from the open to the close with U-shaped volatility;
  regular-session minutes aggregate exactly to the daily bar;
- **missing minutes**: UMBR is thin (about 30% of minutes have no trade), the others lose ~1%;
- **extended hours**: a few thin prints 04:00-09:30 and 16:00-20:00 New York (also on early-close
  days, so the calendar-free ``regular_session_mask`` never mistakes them for regular bars);
  they are in intraday frames but never in daily bars;
- **news**: headlines nudge the next overnight gap and add 1-3 sessions of small drift in their
  direction, strictly after publication (sizes in ``bot.data.sample_news``). Nothing else in
  the prices is predictable beyond volatility.

Determinism: bars and headlines depend only on (seed, symbol, time), never on the range asked
for. Daily series come from one Generator per (seed, symbol); each session's minutes from one per
(seed, symbol, session index), so any sub-range is cheap.

Intraday requests are limited to ``MAX_INTRADAY_SESSIONS`` sessions (about half a year of
minutes); longer ones raise ``DataError`` asking for a shorter range.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import numpy as np
import pandas as pd

from bot.calendar.timeframes import TIMEFRAMES, Timeframe
from bot.data.base import BAR_COLUMNS, BarFeed, NoBarsError, as_symbol_list, bound_to_utc, describe_bound
from bot.data.resample import regular_session_mask, resample_bars
from bot.data.sample_market import (
    MARKET_KEY,
    STREAM_NEWS,
    DailyPath,
    MarketFactor,
    SessionCalendar,
    daily_path,
    generator,
    load_calendar,
    market_factor,
    session_minutes,
    symbol_key,
)
from bot.data.sample_news import (
    HEADLINE_COLUMNS,
    MARKET_RATE,
    SYMBOL_RATE,
    NewsEvents,
    generate_events,
    price_shifts,
    render,
)
from bot.errors import DataError

FIRST_SESSION = "2018-01-02"
LAST_SESSION = "2024-12-31"
MAX_INTRADAY_SESSIONS = 130

SAMPLE_COMPANIES: dict[str, str] = {
    "ACME": "Acme Corp",
    "GLBX": "Globex",
    "INIT": "Initech",
    "UMBR": "Umbrella Corp",
    "HOOL": "Hooli",
}


class SampleFeed(BarFeed):
    """Synthetic bars and headlines for ``symbols`` (default: the five ``SAMPLE_COMPANIES``).

    | method | does |
    |---|---|
    | ``history(symbols, start, end, timeframe)`` | the ``BarFeed`` contract (``bot.data.base``); 1Day from the daily series, intraday from per-session minutes, resampled with ``resample_bars`` |
    | ``latest(symbols, timeframe)`` | the last bar of the span; symbols the feed lacks are left out |
    | ``headlines(symbols, start, end)`` | the symbols' headlines plus market-wide ones (symbol ""), published in ``[start, end]`` |
    | ``news_truth(symbols, start, end)`` | the same rows with the hidden ``tone``, ``strength`` and affected ``session``: for tests and benchmarks only, never for a strategy |

    Intraday frames include the extended-hours prints unless ``extended_hours=False`` (then
    they are dropped before resampling, as ``CsvFeed`` does). Bar bounds follow ``bot.data.base``
    (a naive datetime is New York time, a ``date`` end covers its day); headline bounds read a naive
    datetime as UTC. Any ticker may be given: unknown ones get plausible parameters derived from the ticker, and
    are named by their ticker in headlines.
    """

    name = "sample"
    synthetic = True

    def __init__(
        self, seed: int = 7, symbols: Sequence[str] | None = None, *, extended_hours: bool = True
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        tickers = tuple(SAMPLE_COMPANIES) if symbols is None else tuple(symbols)
        bad = [t for t in tickers if not isinstance(t, str) or not t or t != t.strip().upper()]
        if not tickers or bad or len(set(tickers)) != len(tickers):
            raise ValueError(f"symbols must be distinct upper-case tickers, got {list(tickers)!r}")
        self.seed = int(seed)
        self.symbols = tickers
        self.extended_hours = extended_hours
        self._daily: dict[str, DailyPath] = {}
        self._events: dict[str, NewsEvents] = {}
        self._market: MarketFactor | None = None

    # ----------------------------------------------------------------------------- bars

    def history(
        self,
        symbols: Sequence[str],
        start: datetime | date | None,
        end: datetime | date | None,
        timeframe: Timeframe,
    ) -> dict[str, pd.DataFrame]:
        """Bars frames with start times in ``[start, end]``; see the class docstring."""
        tickers = {symbol: symbol.strip().upper() for symbol in as_symbol_list(symbols)}
        self._check_bars(list(tickers.values()))
        cal = self._calendar()
        low, high = bound_to_utc(start), bound_to_utc(end, end=True)
        lo = int(cal.labels.asi8[0]) if low is None else int(low.value)
        hi = int(cal.post_end_ns[-1]) if high is None else int(high.value)
        if timeframe.is_daily:
            return {
                symbol: self._daily_frame(ticker, lo, hi, start, end) for symbol, ticker in tickers.items()
            }
        first = int(np.searchsorted(cal.post_end_ns, lo, side="right"))
        last = int(np.searchsorted(cal.pre_ns, hi, side="right")) - 1
        if last - first + 1 > MAX_INTRADAY_SESSIONS:
            raise DataError(
                f"sample feed: a {timeframe.name} request {_between(start, end)} spans "
                f"{last - first + 1} sessions; intraday requests are limited to "
                f"{MAX_INTRADAY_SESSIONS} sessions, ask for a shorter range"
            )
        if first > last and tickers:
            raise _no_bars(next(iter(tickers)), timeframe, start, end)
        out = {}
        for symbol, ticker in tickers.items():
            frame = self._minute_frame(ticker, range(first, last + 1))
            if not self.extended_hours:  # before resampling: a 09:00 hour bar keeps 09:30-09:59
                frame = frame[regular_session_mask(frame.index)]
            if timeframe.minutes != 1:
                frame = resample_bars(frame, timeframe)
            # Bars are cut by start time after resampling, so a bar is the same whatever the range.
            frame = frame[(frame.index.asi8 >= lo) & (frame.index.asi8 <= hi)]
            if frame.empty:
                raise _no_bars(symbol, timeframe, start, end)
            out[symbol] = frame
        return out

    def latest(self, symbols: Sequence[str], timeframe: Timeframe) -> dict[str, pd.DataFrame]:
        """The last bar of the span (asking only for the last session, so intraday stays cheap);
        symbols the feed does not have are left out."""
        cal = self._calendar()
        start = cal.labels[-1] if timeframe.is_daily else pd.Timestamp(int(cal.pre_ns[-1]), tz="UTC")
        known = [s for s in as_symbol_list(symbols) if s.strip().upper() in self.symbols]
        frames = self.history(known, start.to_pydatetime(), None, timeframe)
        return {symbol: frame.iloc[-1:] for symbol, frame in frames.items()}

    def _daily_frame(
        self, symbol: str, lo: int, hi: int, start: datetime | date | None, end: datetime | date | None
    ) -> pd.DataFrame:
        cal, day = self._calendar(), self._daily_path(symbol)
        rows = (cal.labels.asi8 >= lo) & (cal.labels.asi8 <= hi)
        if not rows.any():
            raise _no_bars(symbol, TIMEFRAMES["1Day"], start, end)
        columns = {c: getattr(day, c)[rows] for c in BAR_COLUMNS}
        return pd.DataFrame(columns, index=cal.labels[rows], dtype="float64")

    def _minute_frame(self, symbol: str, sessions: range) -> pd.DataFrame:
        cal, day = self._calendar(), self._daily_path(symbol)
        parts = [session_minutes(self.seed, symbol, i, cal, day) for i in sessions]
        index = pd.DatetimeIndex(np.concatenate([p.ts_ns for p in parts]).astype("datetime64[ns]"))
        columns = {c: np.concatenate([getattr(p, c) for p in parts]) for c in BAR_COLUMNS}
        return pd.DataFrame(columns, index=index.tz_localize("UTC").rename("ts"), dtype="float64")

    # ----------------------------------------------------------------------------- news

    def headlines(self, symbols: Sequence[str], start: datetime | None, end: datetime | None) -> pd.DataFrame:
        """Headlines (``HEADLINE_COLUMNS``) published in ``[start, end]``, oldest first.

        Market-wide headlines (symbol "") come with any request. No headline is not an error.
        """
        return self._headline_frame(symbols, start, end, with_truth=False)

    def news_truth(
        self, symbols: Sequence[str], start: datetime | None, end: datetime | None
    ) -> pd.DataFrame:
        """``headlines`` plus the hidden ``tone`` (+1/-1/0), ``strength`` and ``session`` (the
        daily bar timestamp of the first session opening after publication, NaT past the span).

        Ground truth for tests and sentiment benchmarks; a strategy must never see it.
        """
        frame = self._headline_frame(symbols, start, end, with_truth=True)
        labels = self._calendar().labels
        position = frame["session"].to_numpy(dtype="int64")
        inside = position < len(labels)
        session = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
        session[inside] = labels[position[inside]]
        frame["session"] = session
        return frame

    def _headline_frame(
        self, symbols: Sequence[str], start: datetime | None, end: datetime | None, with_truth: bool
    ) -> pd.DataFrame:
        self._check(symbols)
        lo, hi = _bound(start, np.iinfo("int64").min), _bound(end, np.iinfo("int64").max)
        frames = []
        for ticker in ["", *symbols]:
            events = self._news(ticker)
            mask = (events.published_ns >= lo) & (events.published_ns <= hi)
            if mask.any():
                name = SAMPLE_COMPANIES.get(ticker, ticker)
                frames.append(render(events, mask, self.seed, ticker, name, with_truth))
        extra = ("tone", "strength", "session") if with_truth else ()
        if not frames:
            dtypes = {c: "str" for c in HEADLINE_COLUMNS} | {"tone": "int64", "strength": "float64"}
            dtypes |= {"published_at": "datetime64[ns, UTC]", "session": "int64"}
            return pd.DataFrame({c: pd.Series(dtype=dtypes[c]) for c in (*HEADLINE_COLUMNS, *extra)})
        frame = pd.concat(frames, ignore_index=True)
        frame["published_at"] = frame["published_at"].astype("datetime64[ns, UTC]")
        return frame.sort_values(["published_at", "symbol", "guid"], ignore_index=True)

    # ----------------------------------------------------------------------------- generation

    def _check(self, symbols: Sequence[str]) -> None:
        if isinstance(symbols, str):
            raise DataError(f"symbols must be a list of tickers, got the string {symbols!r}")
        self._check_bars(symbols)

    def _check_bars(self, tickers: Sequence[str]) -> None:
        unknown = [s for s in tickers if s not in self.symbols]
        if unknown:
            raise NoBarsError(
                f"sample feed has no symbol {', '.join(map(str, unknown))}; it has {', '.join(self.symbols)}"
            )

    @staticmethod
    def _calendar() -> SessionCalendar:
        return load_calendar(FIRST_SESSION, LAST_SESSION)

    def _news(self, ticker: str) -> NewsEvents:
        """Whole-span headlines of a ticker ("" = market-wide), from their own Generator."""
        if ticker not in self._events:
            key = MARKET_KEY if ticker == "" else symbol_key(ticker)
            rate = MARKET_RATE if ticker == "" else SYMBOL_RATE
            rng = generator(self.seed, STREAM_NEWS, key)
            self._events[ticker] = generate_events(rng, self._calendar(), rate)
        return self._events[ticker]

    def _daily_path(self, symbol: str) -> DailyPath:
        if symbol not in self._daily:
            n = self._calendar().n
            if self._market is None:
                self._market = market_factor(self.seed, n, price_shifts(self._news(""), n))
            own = price_shifts(self._news(symbol), n)
            self._daily[symbol] = daily_path(self.seed, symbol, self._market, own)
        return self._daily[symbol]


def _bound(value: datetime | None, default: int) -> int:
    """A headline range bound as UTC nanoseconds (naive datetimes are read as UTC, as the news
    replays read them; bar bounds follow ``bot.data.base.bound_to_utc``)."""
    if value is None:
        return int(default)
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.as_unit("ns").value)


def _between(start: datetime | date | None, end: datetime | date | None) -> str:
    """The range as the caller gave it (None = the start or end of the sample)."""
    return f"from {describe_bound(start, 'the start')} to {describe_bound(end, 'the end')}"


def _no_bars(
    symbol: str, timeframe: Timeframe, start: datetime | date | None, end: datetime | date | None
) -> NoBarsError:
    return NoBarsError(
        f"sample feed has no {timeframe.name} bars for {symbol} {_between(start, end)}; "
        f"it covers NYSE sessions {FIRST_SESSION} to {LAST_SESSION}"
    )
