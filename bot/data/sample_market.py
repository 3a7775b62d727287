"""Price generation for the synthetic sample market (see ``bot.data.sample`` for the story).

Two levels, generated so the bar for a (seed, symbol, time) never depends on the range asked for:

- ``daily_path``: the whole span at once, from one Generator per (seed, symbol); the market factor
  from one Generator per seed. Daily OHLCV is fixed here, cheaply, without any minute path.
- ``session_minutes``: one session's minutes from a Generator per (seed, symbol, session index),
  built so the regular-session minutes aggregate *exactly* to that session's daily bar.

All prices are rounded to cents; volumes are whole shares (so sums are exact in float64).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from bot.calendar.timeframes import NEW_YORK

MINUTE_NS = 60_000_000_000
_PRE_MINUTES = 330  # 04:00-09:30 New York
_POST_MINUTES = 240  # 16:00-20:00 New York

# Generator streams: a seed sequence is [seed, stream, symbol key, (session)].
STREAM_DAILY = 1
STREAM_MINUTES = 2
STREAM_NEWS = 3
STREAM_PARAMS = 4
MARKET_KEY = 0  # the common factor and market-wide news; ticker keys are crc32 values

_TRADING_DAYS = 252
_OVERNIGHT_SHARE = 0.25  # share of a day's variance realised between the close and the open
_GARCH_ALPHA, _GARCH_BETA = 0.08, 0.90  # persistence 0.98: calm and stormy spells last weeks
_T_DOF = 5  # Student-t innovations: fat tails
_MARKET_VOL, _MARKET_DRIFT = 0.17, 0.05  # annual, the common factor


def symbol_key(ticker: str) -> int:
    """A stable integer per ticker (Python's ``hash`` is salted per process, crc32 is not)."""
    return zlib.crc32(ticker.encode("utf-8"))


def generator(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


@dataclass(frozen=True)
class SymbolParams:
    """The character of one synthetic company (fixed per ticker; the seed only changes paths)."""

    start_price: float  # dollars, the close before the first session
    drift: float  # idiosyncratic annual log drift (on top of beta * market drift)
    vol: float  # idiosyncratic annual volatility
    beta: float  # loading on the common market factor
    volume: float  # median daily volume in shares
    missing: float  # fraction of regular-session minutes without a trade
    extended: float  # mean number of extended-hours minutes per session


DEFAULT_PARAMS: dict[str, SymbolParams] = {
    "ACME": SymbolParams(48.50, 0.03, 0.20, 1.0, 2.5e6, 0.01, 20.0),
    "GLBX": SymbolParams(132.00, 0.02, 0.16, 0.8, 1.6e6, 0.01, 15.0),
    "INIT": SymbolParams(27.30, 0.00, 0.24, 1.2, 9.0e5, 0.01, 12.0),
    "UMBR": SymbolParams(64.10, -0.02, 0.26, 1.0, 1.2e5, 0.30, 5.0),  # the thin one
    "HOOL": SymbolParams(245.00, 0.03, 0.22, 1.3, 6.0e6, 0.01, 30.0),
}


def symbol_params(ticker: str) -> SymbolParams:
    """Parameters of a default company, or plausible ones derived from any other ticker."""
    if ticker in DEFAULT_PARAMS:
        return DEFAULT_PARAMS[ticker]
    rng = generator(0, STREAM_PARAMS, symbol_key(ticker))
    return SymbolParams(
        start_price=float(np.round(np.exp(rng.uniform(np.log(20), np.log(300))), 2)),
        drift=float(rng.normal(0.02, 0.04)),
        vol=float(rng.uniform(0.15, 0.30)),
        beta=float(rng.uniform(0.7, 1.3)),
        volume=float(np.exp(rng.uniform(np.log(3e5), np.log(5e6)))),
        missing=0.01,
        extended=12.0,
    )


@dataclass(frozen=True)
class SessionCalendar:
    """The sessions of the span as arrays of UTC nanoseconds (one entry per session)."""

    labels: pd.DatetimeIndex  # daily bar timestamps: midnight New York of the date, in UTC
    open_ns: np.ndarray
    close_ns: np.ndarray  # early closes (13:00) included
    pre_ns: np.ndarray  # 04:00 New York
    post_ns: np.ndarray  # 16:00 New York, also on early-close days (see ``session_minutes``)

    @property
    def n(self) -> int:
        return len(self.open_ns)

    @property
    def post_end_ns(self) -> np.ndarray:
        return self.post_ns + _POST_MINUTES * MINUTE_NS


@cache
def load_calendar(first: str, last: str) -> SessionCalendar:
    """NYSE sessions between two dates (exchange_calendars "XNYS"), loaded once per process."""
    from bot.calendar.exchange import xnys  # ~0.4 s to import: only when the sample market is first used

    schedule = xnys(int(first[:4]), int(last[:4])).schedule.loc[first:last]
    dates = pd.DatetimeIndex(schedule.index)

    def at(hours: int) -> np.ndarray:
        local = (dates + pd.Timedelta(hours=hours)).tz_localize(NEW_YORK)
        return local.tz_convert("UTC").as_unit("ns").asi8

    labels = dates.tz_localize(NEW_YORK).tz_convert("UTC").as_unit("ns")
    return SessionCalendar(
        labels=pd.DatetimeIndex(labels, name="ts"),
        open_ns=pd.DatetimeIndex(schedule["open"].array).tz_convert("UTC").as_unit("ns").asi8,
        close_ns=pd.DatetimeIndex(schedule["close"].array).tz_convert("UTC").as_unit("ns").asi8,
        pre_ns=at(4),
        post_ns=at(16),
    )


@dataclass(frozen=True)
class NewsShifts:
    """What the headlines do to one price series, per session (see ``bot.data.sample_news``)."""

    gap: np.ndarray  # log shift of each session's overnight gap
    drift: np.ndarray  # log drift added to each session's open-to-close return
    count: np.ndarray  # toned headlines landing on the session (they lift volume)
    # each gap shift with its publication time, so extended-hours prints only show it afterwards
    comp_session: np.ndarray
    comp_ns: np.ndarray
    comp_gap: np.ndarray

    @staticmethod
    def none(n: int) -> NewsShifts:
        empty_i, empty_f = np.zeros(0, "int64"), np.zeros(0)
        return NewsShifts(np.zeros(n), np.zeros(n), np.zeros(n), empty_i, empty_i, empty_f)


@dataclass(frozen=True)
class MarketFactor:
    gap: np.ndarray  # log return close -> open, news included
    intra: np.ndarray  # log return open -> close, news included
    var: np.ndarray  # conditional daily variance (GARCH)
    news: NewsShifts


def _standard_t(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    z = rng.standard_t(_T_DOF, size=shape) / np.sqrt(_T_DOF / (_T_DOF - 2))
    return np.clip(z, -8.0, 8.0)  # fat tails, but no 30-sigma day from one unlucky draw


def _garch(z: np.ndarray, daily_var: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GARCH(1,1) gap and intraday shocks from standardised pairs ``z`` of shape (n, 2)."""
    omega = daily_var * (1 - _GARCH_ALPHA - _GARCH_BETA)
    # With fat-tailed shocks a run of big days can push the variance up for years; capping the
    # volatility at three times normal (about 2008 or March 2020 for the market) keeps it plausible.
    ceiling = 9.0 * daily_var
    w_gap, w_intra = np.sqrt(_OVERNIGHT_SHARE), np.sqrt(1 - _OVERNIGHT_SHARE)
    n = len(z)
    var, gap, intra = np.empty(n), np.empty(n), np.empty(n)
    h = daily_var
    for t, (z_gap, z_intra) in enumerate(z.tolist()):  # plain floats: ~20x faster than numpy scalars
        sd = h**0.5
        g, i = sd * w_gap * z_gap, sd * w_intra * z_intra
        var[t], gap[t], intra[t] = h, g, i
        h = min(omega + _GARCH_ALPHA * (g + i) ** 2 + _GARCH_BETA * h, ceiling)
    return var, gap, intra


def market_factor(seed: int, n: int, news: NewsShifts) -> MarketFactor:
    """The common factor every symbol loads on (its own Generator, so it is shared exactly)."""
    z = _standard_t(generator(seed, STREAM_DAILY, MARKET_KEY), (n, 2))
    var, gap, intra = _garch(z, _MARKET_VOL**2 / _TRADING_DAYS)
    return MarketFactor(gap + news.gap, intra + _MARKET_DRIFT / _TRADING_DAYS + news.drift, var, news)


@dataclass(frozen=True)
class DailyPath:
    """A symbol's daily bars for the whole span, plus what its minute paths need."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    prev_close: np.ndarray  # close of the session before (the start price for the first)
    intra_sd: np.ndarray  # sd of the open-to-close log return: scales the minute path
    gap_sd: np.ndarray  # sd of the overnight log return: scales extended-hours prints
    news: NewsShifts  # own and (beta-scaled) market-wide shifts


def daily_path(seed: int, ticker: str, market: MarketFactor, own: NewsShifts) -> DailyPath:
    """Daily OHLCV: GARCH idiosyncratic shocks + beta * market factor + news, from one Generator."""
    p = symbol_params(ticker)
    rng = generator(seed, STREAM_DAILY, symbol_key(ticker))
    n = len(market.gap)
    var, e_gap, e_intra = _garch(_standard_t(rng, (n, 2)), p.vol**2 / _TRADING_DAYS)
    u_high, u_low, z_volume = rng.random(n), rng.random(n), rng.standard_normal(n)

    gap = p.beta * market.gap + e_gap + own.gap
    intra = p.drift / _TRADING_DAYS + p.beta * market.intra + e_intra + own.drift
    log_close = np.log(p.start_price) + np.cumsum(gap + intra)
    log_open = log_close - intra
    total_var = p.beta**2 * market.var + var
    intra_sd = np.sqrt((1 - _OVERNIGHT_SHARE) * total_var)

    # Extremes of a Brownian bridge from 0 to x with variance s^2: P(max >= m) = exp(-2m(m-x)/s^2).
    root_high = np.sqrt(intra**2 - 2 * intra_sd**2 * np.log(1 - u_high))
    root_low = np.sqrt(intra**2 - 2 * intra_sd**2 * np.log(1 - u_low))
    op, cl = np.exp(log_open), np.exp(log_close)
    open_ = np.maximum(np.round(op, 2), 0.01)
    close = np.maximum(np.round(cl, 2), 0.01)
    high = np.maximum(np.round(op * np.exp((intra + root_high) / 2), 2), np.maximum(open_, close))
    low = np.minimum(np.round(op * np.exp((intra - root_low) / 2), 2), np.minimum(open_, close))
    low = np.maximum(low, 0.01)

    # Volume is log-normal, higher on big-move days and on days with news.
    surprise = np.abs(gap + intra) / np.sqrt(total_var)
    log_volume = np.log(p.volume) + 0.3 * z_volume + 0.45 * (surprise - 0.8) + 0.25 * own.count
    volume = np.maximum(np.round(np.exp(log_volume)), 5_000.0)  # >= 1 share per minute, always

    prev_close = np.concatenate(([p.start_price], close[:-1]))
    shifts = _with_market_news(own, market.news, p.beta)
    gap_sd = np.sqrt(_OVERNIGHT_SHARE * total_var)
    return DailyPath(open_, high, low, close, volume, prev_close, intra_sd, gap_sd, shifts)


def _with_market_news(own: NewsShifts, market: NewsShifts, beta: float) -> NewsShifts:
    session = np.concatenate((own.comp_session, market.comp_session))
    ns = np.concatenate((own.comp_ns, market.comp_ns))
    order = np.lexsort((ns, session))
    gap = np.concatenate((own.comp_gap, beta * market.comp_gap))
    return NewsShifts(own.gap, own.drift, own.count, session[order], ns[order], gap[order])


@dataclass(frozen=True)
class MinuteBars:
    ts_ns: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


@cache
def _u_shape(n: int) -> np.ndarray:
    """Intraday activity weights (sum 1): three times busier at the open and close than at noon."""
    x = np.linspace(-1.0, 1.0, n)
    w = 1.0 + 2.0 * x**2
    return w / w.sum()


@cache
def _pre_weights() -> np.ndarray:
    w = np.linspace(0.2, 3.0, _PRE_MINUTES) ** 2  # pre-market trading thickens toward the open
    return w / w.sum()


@cache
def _post_weights() -> np.ndarray:
    w = np.linspace(3.0, 0.3, _POST_MINUTES) ** 2  # after-hours trading thins out toward 20:00
    return w / w.sum()


def session_minutes(seed: int, ticker: str, i: int, cal: SessionCalendar, day: DailyPath) -> MinuteBars:
    """Session ``i``'s minute bars: sparse pre-market, regular session, sparse after-hours.

    The regular-session minutes are a Brownian bridge from the day's open to its close with
    U-shaped volatility, then squeezed by a monotone piecewise-linear map so their extremes are
    the day's high and low. A monotone map keeps every minute consistent (low <= open, close <=
    high) and leaves the open and close untouched, so the aggregate equals the daily bar exactly.
    """
    p = symbol_params(ticker)
    rng = generator(seed, STREAM_MINUTES, symbol_key(ticker), i)
    day_open, day_high = float(day.open[i]), float(day.high[i])
    day_low, day_close = float(day.low[i]), float(day.close[i])
    n = int((cal.close_ns[i] - cal.open_ns[i]) // MINUTE_NS)
    u = _u_shape(n)
    step_sd = day.intra_sd[i] * np.sqrt(u)

    walk = np.concatenate(([0.0], np.cumsum(rng.standard_normal(n) * step_sd)))
    clock = np.concatenate(([0.0], np.cumsum(u)))
    clock[-1] = 1.0
    log_path = walk - clock * (walk[-1] - np.log(day_close / day_open))
    path = day_open * np.exp(log_path)
    path[0], path[-1] = day_open, day_close
    o, c = path[:-1], path[1:]
    h = np.maximum(o, c) * np.exp(np.abs(rng.standard_normal(n)) * 0.6 * step_sd)
    lo = np.minimum(o, c) * np.exp(-np.abs(rng.standard_normal(n)) * 0.6 * step_sd)

    top, bottom = max(day_open, day_close), min(day_open, day_close)
    raw_high, raw_low = float(h.max()), float(lo.min())
    up = (day_high - top) / (raw_high - top) if raw_high > top else 0.0
    down = (bottom - day_low) / (bottom - raw_low) if raw_low < bottom else 0.0

    def squeeze(y: np.ndarray) -> np.ndarray:
        y = np.where(y > top, top + (y - top) * up, y)
        y = np.where(y < bottom, bottom - (bottom - y) * down, y)
        return np.clip(np.round(y, 2), day_low, day_high)

    o, h, lo, c = squeeze(o), squeeze(h), squeeze(lo), squeeze(c)
    # Float rounding can leave the extremes a cent short in theory; pin them (clip kept order).
    h[int(np.argmax(h))], lo[int(np.argmin(lo))] = day_high, day_low
    o[0], c[-1] = day_open, day_close

    keep = rng.random(n) >= p.missing
    keep[[0, n - 1, int(np.argmax(h)), int(np.argmin(lo))]] = True  # the bars that define the day
    k = int(keep.sum())
    weights = u[keep] * np.exp(0.5 * rng.standard_normal(k))
    volume = 1.0 + rng.multinomial(int(day.volume[i]) - k, weights / weights.sum())
    regular_ts = cal.open_ns[i] + np.flatnonzero(keep) * MINUTE_NS

    pre = _extended(rng, p, day, i, cal.pre_ns[i], _PRE_MINUTES, _pre_weights(), premarket=True)
    post = _extended(rng, p, day, i, cal.post_ns[i], _POST_MINUTES, _post_weights(), premarket=False)
    parts = (pre, (regular_ts, o[keep], h[keep], lo[keep], c[keep], volume.astype("float64")), post)
    return MinuteBars(*(np.concatenate(cols) for cols in zip(*parts, strict=True)))


def _extended(
    rng: np.random.Generator,
    p: SymbolParams,
    day: DailyPath,
    i: int,
    start_ns: int,
    width: int,
    weights: np.ndarray,
    premarket: bool,
) -> tuple[np.ndarray, ...]:
    """A few thin extended-hours prints (never part of the daily bar).

    Pre-market drifts from the previous close to the open; after-hours wanders from the close.
    A headline's gap shift shows only in prints that start at or after its publication time.
    """
    count = min(int(rng.poisson(p.extended * (0.6 if premarket else 0.4))), width)
    offsets = np.sort(rng.choice(width, size=count, replace=False, p=weights))
    ts = start_ns + offsets * MINUTE_NS
    frac = (offsets + 1) / (width + 1)
    steps = rng.standard_normal(count + 1) * np.sqrt(np.diff(frac, prepend=0.0, append=1.0))
    walk = np.cumsum(steps)  # Brownian motion at each print, and at the window's end last
    target = i if premarket else i + 1  # which session's gap these prints anticipate
    lo_idx, hi_idx = np.searchsorted(day.news.comp_session, [target, target + 1])
    comp_ns, comp_gap = day.news.comp_ns[lo_idx:hi_idx], day.news.comp_gap[lo_idx:hi_idx]
    news = (comp_gap[None, :] * (comp_ns[None, :] <= ts[:, None])).sum(axis=1)
    if premarket:
        # A bridge toward the open, carrying only the part of the gap that is not news.
        anchor = float(day.prev_close[i])
        base = np.log(day.open[i] / anchor) - comp_gap.sum()
        log_price = frac * base + 0.5 * day.gap_sd[i] * (walk[:-1] - frac * walk[-1]) + news
    else:
        anchor = float(day.close[i])
        log_price = 0.5 * day.gap_sd[i] * walk[:-1] + news
    close = np.maximum(np.round(anchor * np.exp(log_price), 2), 0.01)
    open_ = np.concatenate(([anchor], close[:-1]))[:count]
    wick = np.abs(rng.standard_normal((2, count))) * 0.1 * day.gap_sd[i]
    high = np.round(np.maximum(open_, close) * np.exp(wick[0]), 2)
    low = np.maximum(np.round(np.minimum(open_, close) * np.exp(-wick[1]), 2), 0.01)
    # thin: about a fifth of an average regular-session minute's volume
    volume = np.round(day.volume[i] / 390 * 0.2 * np.exp(0.5 * rng.standard_normal(count))) + 1.0
    return ts, open_, high, low, close, volume
