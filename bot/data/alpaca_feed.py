"""Alpaca market data as a bar feed (``[data] source = "alpaca"``), through alpaca-py's client.

- **Bars.** ``GET /v2/stocks/bars`` via ``StockHistoricalDataClient.get_stock_bars`` (alpaca-py
  follows ``next_page_token``), split-adjusted, from the configured feed (``iex`` or ``sip``).
  Timestamps are bar starts in UTC; daily bars keep Alpaca's midnight-New-York stamp. Bars are
  cleaned by ``bot.data.cleaning``. Intraday bars outside 09:30-16:00 New York are dropped unless
  ``extended_hours``; hourly bars are then built from 30-minute bars, so the 09:00 bar holds
  09:30-09:59 as with the other feeds (Alpaca's own 09:00 bar would include pre-market trades).
- **Bounds.** As every feed (``bot.data.base.bound_to_utc``): naive bounds are New York time, a
  ``date`` end covers its day; no start means 2016-01-01 (where Alpaca's history begins), no end
  means now. An hourly bar built from 30-minute bars is built whole even when ``end`` falls inside
  it (the parts up to its end are asked for), so it is the same bar whatever the range.
- **HTTP.** Every request has a timeout and a bounded retry with backoff (``_BoundedAdapter``,
  mounted on the client's session; alpaca-py's own fixed 3 x 3 s retry is turned off). 401/403 is
  a ``ConfigError``; any other failure after the retries is a ``TemporaryError``, one line.
- **Cache.** With a ``journal``, downloads are kept in its ``bars`` table under source
  ``alpaca:FEED`` and each downloaded span in ``bar_cache_ranges``. A request whose whole span
  lies inside one recorded span is served from the journal; otherwise the whole span is
  downloaded again and replaces what was stored there. The last day before now is never
  recorded as covered: its bars may still change.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
import requests
import structlog
from requests.adapters import HTTPAdapter

from bot.broker.alpaca_http import RetryPolicy, retry_after_seconds
from bot.calendar.timeframes import Timeframe
from bot.config import Config, Secrets, secrets_from_env
from bot.data.base import (
    BAR_COLUMNS,
    BarFeed,
    NoBarsError,
    as_symbol_list,
    bound_to_utc,
    describe_bound,
    empty_bars,
)
from bot.data.cleaning import clean_bars
from bot.data.resample import regular_session_mask, resample_bars
from bot.errors import ConfigError, DataError, TemporaryError

log = structlog.get_logger(__name__)

MISSING_KEYS = (
    "data.source is 'alpaca' but the Alpaca keys are missing: set ALPACA_API_KEY and ALPACA_SECRET_KEY"
    " (or APCA_API_KEY_ID and APCA_API_SECRET_KEY) in the environment"
)
HISTORY_START = pd.Timestamp("2016-01-01", tz="America/New_York").tz_convert("UTC")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_UNSETTLED = pd.Timedelta(days=1)  # bars this close to now may still be revised: never cached as final
_FIELDS = {"o": "open", "h": "high", "l": "low", "c": "close", "v": "volume"}


class _BoundedAdapter(HTTPAdapter):
    """A timeout on every request, retries with exponential backoff, a cap on requests per download.

    Retries (timeouts, dropped connections, 429/5xx) are per request, so a failed page does not
    restart a paginated download. After the last attempt the exception, or the error response
    (which alpaca-py turns into ``APIError``), reaches the caller.
    """

    def __init__(self, *, timeout: float, max_retries: int, backoff: float, max_requests: int = 1000) -> None:
        super().__init__(max_retries=0)  # urllib3's retries off: ours are the only ones
        self.timeout = (timeout, timeout)
        self.retries = max(0, max_retries)
        # the broker's policy decides the waits (Retry-After first, else backoff with jitter)
        self.policy = RetryPolicy(self.retries, max(0.0, backoff), sleep=time.sleep)
        self.max_requests = max_requests
        self.sent = 0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        attempt = 0
        while True:
            self.sent += 1
            if self.sent > self.max_requests:  # a server that never stops sending next_page_token
                raise requests.RequestException(f"more than {self.max_requests} requests in one download")
            retry_after = None
            try:
                response = super().send(request, **kwargs)
                if response.status_code not in RETRY_STATUSES or attempt >= self.retries:
                    return response
                retry_after = retry_after_seconds(response)
                response.close()
            except (requests.Timeout, requests.ConnectionError):
                if attempt >= self.retries:
                    raise
            time.sleep(self.policy.delay(attempt, retry_after))
            attempt += 1


class AlpacaFeed(BarFeed):
    """Historical and latest bars from Alpaca (see the module docstring for the rules)."""

    name = "alpaca"
    synthetic = False

    def __init__(
        self,
        *,
        api_key: str | None,
        secret_key: str | None,
        data_url: str = "https://data.alpaca.markets",
        feed: str = "iex",
        timeout_seconds: float = 10.0,
        max_retries: int = 4,
        backoff_seconds: float = 0.5,
        extended_hours: bool = False,
        journal: Any = None,
    ) -> None:
        from alpaca.data.enums import DataFeed
        from alpaca.data.historical.stock import StockHistoricalDataClient

        if not api_key or not secret_key:
            raise ConfigError(MISSING_KEYS)
        self.feed = feed
        self.extended_hours = extended_hours
        self.journal = journal
        self.cache_source = f"alpaca:{feed}"
        self._data_feed = DataFeed.SIP if feed == "sip" else DataFeed.IEX
        self._client = StockHistoricalDataClient(
            api_key, secret_key, raw_data=True, url_override=data_url.rstrip("/")
        )
        self._adapter = _BoundedAdapter(
            timeout=timeout_seconds, max_retries=max_retries, backoff=backoff_seconds
        )
        self._client._session.mount("https://", self._adapter)
        self._client._session.mount("http://", self._adapter)
        # plain attributes of alpaca-py's RESTClient: retry 0 hands a 429 to our adapter's policy
        self._client._retry = 0
        self._client._retry_wait = 0

    @classmethod
    def from_config(
        cls, config: Config, *, journal: Any = None, secrets: Secrets | None = None
    ) -> AlpacaFeed:
        """Keys from the environment (or ``secrets``); ``ConfigError`` naming the variables when missing."""
        secrets = secrets if secrets is not None else secrets_from_env()
        a = config.alpaca
        return cls(
            api_key=secrets.alpaca_key,
            secret_key=secrets.alpaca_secret,
            data_url=a.data_url,
            feed=a.feed,
            timeout_seconds=a.timeout_seconds,
            max_retries=a.max_retries,
            backoff_seconds=a.backoff_seconds,
            extended_hours=config.data.extended_hours,
            journal=journal,
        )

    def history(
        self,
        symbols: Sequence[str],
        start: datetime | date | None,
        end: datetime | date | None,
        timeframe: Timeframe,
    ) -> dict[str, pd.DataFrame]:
        """Bars with start times in ``[start, end]``; ``NoBarsError`` for a symbol with none there."""
        symbols = as_symbol_list(symbols)
        now = pd.Timestamp.now(tz="UTC")
        low = bound_to_utc(start) if start is not None else HISTORY_START
        high = bound_to_utc(end, end=True) if end is not None else now
        # bars start on whole minutes: whole-second bounds lose none and keep journal text exact
        low, high = low.ceil("s"), high.floor("s")
        if symbols and low > high:  # a range without bars: not sent (Alpaca documents no answer to it)
            raise self._no_bars(symbols[0], start, end, timeframe)
        fetch_tf = self._fetch_timeframe(timeframe)
        fetch_high = high
        if fetch_tf != timeframe:
            # the bar that starts at or before ``end`` is built from all its parts, not cut short at
            # ``end``: the same bar whatever range is asked (the contract in bot.data.base)
            last_bar_end = high.floor(f"{timeframe.minutes}min") + pd.Timedelta(minutes=timeframe.minutes)
            fetch_high = max(high, min(last_bar_end - pd.Timedelta(seconds=1), now.floor("s")))
        raw: dict[str, pd.DataFrame] = {}
        for symbol in symbols:
            cached = self._from_cache(symbol.upper(), fetch_tf, low, fetch_high)
            if cached is not None:
                raw[symbol] = cached
        missing = [s for s in symbols if s not in raw]
        if missing:
            downloaded = self._download(missing, low, fetch_high, fetch_tf)
            for symbol in missing:
                raw[symbol] = downloaded.get(symbol.upper(), empty_bars())
                self._to_cache(symbol.upper(), fetch_tf, low, fetch_high, raw[symbol])
        out = {}
        for symbol in symbols:
            frame = self._shape(raw[symbol], timeframe, fetch_tf).loc[low:high]
            if frame.empty:
                raise self._no_bars(symbol, start, end, timeframe)
            out[symbol] = frame
        return out

    def latest(self, symbols: Sequence[str], timeframe: Timeframe) -> dict[str, pd.DataFrame]:
        """The last complete bar per symbol, as ``history`` would give it; symbols without data are
        left out.

        1Min asks ``/v2/stocks/bars/latest``; other timeframes, and a latest minute that history
        would not give (outside the session without ``extended_hours``, or one cleaning drops),
        read the last days of history (uncached) and keep the last bar that has closed.
        """
        from alpaca.data.requests import StockLatestBarRequest

        symbols = as_symbol_list(symbols)
        out: dict[str, pd.DataFrame] = {}
        rest = symbols
        if timeframe.minutes == 1:
            request = StockLatestBarRequest(symbol_or_symbols=list(symbols), feed=self._data_feed)
            answer = self._call(lambda: self._client.get_stock_latest_bar(request), "latest bars")
            rest = []
            for symbol in symbols:
                bar = answer.get(symbol.upper())
                if not isinstance(bar, dict):
                    continue  # Alpaca has no bar for it: left out
                frame, _ = clean_bars(_frame([bar]), source=self.name, symbol=symbol, log=log)
                frame = self._shape(frame, timeframe, timeframe)
                if len(frame):
                    out[symbol] = frame
                else:  # e.g. a post-market minute with extended_hours off: the last regular one is older
                    rest.append(symbol)
        if rest:
            out.update(self._latest_from_history(rest, timeframe))
        return {symbol: out[symbol] for symbol in symbols if symbol in out}

    def _latest_from_history(self, symbols: list[str], timeframe: Timeframe) -> dict[str, pd.DataFrame]:
        now = pd.Timestamp.now(tz="UTC")
        lookback = pd.Timedelta(days=14 if timeframe.is_daily else 5)
        fetch_tf = self._fetch_timeframe(timeframe)
        downloaded = self._download(symbols, (now - lookback).floor("s"), now.floor("s"), fetch_tf)
        out = {}
        for symbol in symbols:
            frame = self._shape(downloaded.get(symbol.upper(), empty_bars()), timeframe, fetch_tf)
            closed = [timeframe.close_time(t.to_pydatetime()) <= now for t in frame.index]
            frame = frame[closed]
            if len(frame):
                out[symbol] = frame.iloc[-1:]
        return out

    def close(self) -> None:
        self._client._session.close()

    # -- internals ------------------------------------------------------------------------------

    def _no_bars(
        self, symbol: str, start: datetime | date | None, end: datetime | date | None, timeframe: Timeframe
    ) -> NoBarsError:
        return NoBarsError(
            f"no {symbol} bars between {describe_bound(start, HISTORY_START.date().isoformat())} and "
            f"{describe_bound(end, 'now')} from Alpaca ({self.feed} feed, {timeframe.name})"
        )

    def _fetch_timeframe(self, timeframe: Timeframe) -> Timeframe:
        if timeframe.minutes == 60 and not self.extended_hours:
            return Timeframe("30Min", 30)  # resampled to session-aligned hours (module docstring)
        return timeframe

    def _shape(self, frame: pd.DataFrame, timeframe: Timeframe, fetch_tf: Timeframe) -> pd.DataFrame:
        """Session filter (intraday, unless extended_hours) and resampling to ``timeframe``."""
        if not timeframe.is_daily and not self.extended_hours and len(frame):
            frame = frame[regular_session_mask(frame.index)]
        if fetch_tf != timeframe and len(frame):
            frame = resample_bars(frame, timeframe)
        return frame

    def _download(
        self, symbols: list[str], low: pd.Timestamp, high: pd.Timestamp, timeframe: Timeframe
    ) -> dict[str, pd.DataFrame]:
        """Cleaned bars per upper-case symbol; symbols Alpaca has no bar for are absent."""
        from alpaca.data.enums import Adjustment
        from alpaca.data.requests import StockBarsRequest

        request = StockBarsRequest(
            symbol_or_symbols=sorted({s.upper() for s in symbols}),
            timeframe=_alpaca_timeframe(timeframe),
            start=low.to_pydatetime(),
            end=high.to_pydatetime(),
            feed=self._data_feed,
            adjustment=Adjustment.SPLIT,
        )
        what = f"{timeframe.name} bars of {','.join(request.symbol_or_symbols)} from {low} to {high}"
        answer = self._call(lambda: self._client.get_stock_bars(request), what)
        out = {}
        for symbol, rows in (answer or {}).items():
            if isinstance(rows, list) and rows:
                frame, _ = clean_bars(_frame(rows), source=self.name, symbol=symbol, log=log)
                out[symbol.upper()] = frame
        log.info(
            "alpaca_bars_downloaded",
            timeframe=timeframe.name,
            symbols=len(out),
            rows=sum(len(f) for f in out.values()),
            requests=self._adapter.sent,
        )
        return out

    def _call(self, call: Any, what: str) -> Any:
        """Run one alpaca-py call; its failures become ``ConfigError`` / ``TemporaryError``, one line."""
        from alpaca.common.exceptions import APIError

        self._adapter.sent = 0
        try:
            return call()
        except APIError as exc:
            status = exc.status_code
            if status == 403 and "sip" in _api_message(exc).lower():
                # a free plan asking SIP for the last 15 minutes: the keys are fine, the feed is not
                raise ConfigError(
                    f"alpaca.feed: your Alpaca plan does not allow recent SIP data ({_api_message(exc)}); set "
                    'alpaca.feed = "iex", or ask for bars older than 15 minutes'
                ) from None
            if status in (401, 403):
                raise ConfigError(
                    f"Alpaca refused the API keys (HTTP {status} from {self._client._base_url}); check "
                    "ALPACA_API_KEY and ALPACA_SECRET_KEY (or APCA_API_KEY_ID and APCA_API_SECRET_KEY)"
                ) from None
            raise TemporaryError(
                f"Alpaca data request failed ({what}): HTTP {status}: {_api_message(exc)}"
            ) from None
        except requests.Timeout:
            raise TemporaryError(
                f"Alpaca data request timed out ({what}) after {self._adapter.retries + 1} attempt(s) of "
                f"{self._adapter.timeout[1]:g} s"
            ) from None
        except requests.RequestException as exc:
            raise TemporaryError(f"Alpaca data request failed ({what}): {_one_line(exc)}") from None
        except (KeyError, AttributeError, TypeError, ValueError) as exc:
            # alpaca-py's parsing of an odd answer (e.g. "bars": null) fails with these
            raise TemporaryError(f"Alpaca sent an answer we cannot read ({what}): {_one_line(exc)}") from None

    def _from_cache(
        self, symbol: str, timeframe: Timeframe, low: pd.Timestamp, high: pd.Timestamp
    ) -> pd.DataFrame | None:
        if self.journal is None:
            return None
        rows = self.journal.cached_bars(self.cache_source, symbol, timeframe.name, low, high)
        if rows is None:
            return None
        if not rows:
            return empty_bars()
        frame = pd.DataFrame([tuple(r) for r in rows], columns=["ts", *BAR_COLUMNS])
        frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("ts"), utc=True), name="ts").as_unit("ns")
        return frame.astype("float64")

    def _to_cache(
        self, symbol: str, timeframe: Timeframe, low: pd.Timestamp, high: pd.Timestamp, frame: pd.DataFrame
    ) -> None:
        if self.journal is None or frame.empty:  # no bars: maybe a wrong symbol, never cached
            return
        rows = zip((t.isoformat() for t in frame.index), *(frame[c].tolist() for c in BAR_COLUMNS))
        settled = (pd.Timestamp.now(tz="UTC") - _UNSETTLED).floor("s")
        self.journal.store_cached_bars(
            self.cache_source, symbol, timeframe.name, low, high, rows, covered_end=min(high, settled)
        )


def _alpaca_timeframe(timeframe: Timeframe) -> Any:
    from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

    if timeframe.is_daily:
        return TimeFrame(1, TimeFrameUnit.Day)
    if timeframe.minutes % 60 == 0:
        return TimeFrame(timeframe.minutes // 60, TimeFrameUnit.Hour)
    return TimeFrame(timeframe.minutes, TimeFrameUnit.Minute)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Alpaca bar objects (t, o, h, l, c, v, ...) as a raw bars frame (not yet cleaned)."""
    raw = pd.DataFrame(rows)
    missing = [key for key in ("t", *_FIELDS) if key not in raw]
    if missing:
        raise DataError(f"Alpaca bars lack field(s) {', '.join(missing)}")
    frame = pd.DataFrame({name: pd.to_numeric(raw[key], errors="coerce") for key, name in _FIELDS.items()})
    try:
        stamps = pd.to_datetime(raw["t"], utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise DataError(f"Alpaca bar times cannot be read: {_one_line(exc)}") from None
    frame.index = pd.DatetimeIndex(stamps, name="ts").as_unit("ns")
    return frame.astype("float64")


def _api_message(exc: Exception) -> str:
    try:
        return _one_line(exc.message)  # type: ignore[attr-defined]
    except Exception:  # not JSON: the body itself, shortened
        return _one_line(str(exc))[:200]


def _one_line(exc: object) -> str:
    return " ".join(str(exc).split())
