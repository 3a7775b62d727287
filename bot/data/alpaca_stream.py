"""Minute bars from Alpaca's market-data websocket (alpaca-py ``StockDataStream``) for ``LiveBars``.

Threads: the client runs its own asyncio loop on a daemon thread ("bars-stream"); its handler only
puts bars on a ``queue.Queue`` and stamps the time of the last message, and its auth step flips
the ``connection_limited`` flag (both plain attribute writes, read by the trading thread). The
trading thread calls ``healthy()`` and ``take(now)``, which never block. Nothing here touches the
journal.

Contract:

| method | does |
|---|---|
| ``start()`` | starts the stream thread: it connects, authenticates, subscribes; alpaca-py reconnects with backoff |
| ``healthy()`` | True while the client is connected and a bar came within ``stale_seconds`` |
| ``connection_limited`` | True while Alpaca refuses the stream: another session holds it (below) |
| ``take(now)`` | bars received so far whose close time is <= ``now`` (no look-ahead), per symbol; later ones wait |
| ``stop(timeout)`` | stops the thread promptly (pending waits cancelled, socket closed); True if it ended |

Only 1Min bars exist on the stream: ``BarStream.from_config`` returns None for other timeframes.
Bad keys or an unreachable URL are logged by alpaca-py and retried with backoff; the stream is
simply never healthy, so ``LiveBars`` keeps polling REST.

One session per account and endpoint: Alpaca answers the auth of a second data connection with
``[{"T": "error", "code": 406, "msg": "connection limit exceeded"}]`` and closes it (another
process with the same keys: a second daemon, a ``run``, a notebook). That is logged once
(``bars_stream_connection_limit``), the stream stays unhealthy, so ``LiveBars`` polls REST, and
it is tried again only every ``limit_retry_seconds`` (5 minutes) instead of alpaca-py's 1-30 s
backoff; when a later attempt gets in, ``bars_stream_connection_limit_cleared`` is logged.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import structlog

from bot.calendar.timeframes import Timeframe
from bot.config import AlpacaConfig, Secrets
from bot.data.base import BAR_COLUMNS
from bot.data.resample import regular_session_mask

log = structlog.get_logger(__name__)

#: bar periods without a message (during the session) before the stream counts as stale
STALE_PERIODS = 2
MINUTE = timedelta(minutes=1)
Row = tuple[float, float, float, float, float]

#: seconds between attempts while Alpaca answers 406 "connection limit exceeded". Not never: the
#: other session is often short-lived (a notebook, a one-off run) and a daemon runs for days, so
#: it should take the stream over once it is free. Not alpaca-py's 1-30 s backoff: the refusal
#: lasts as long as the other process, every attempt logs (alpaca-py) and counts against Alpaca's
#: connection rate limits, and REST polling serves the bars meanwhile at the cost of latency only.
#: A 406 right after a drop may be this bot's own old session that Alpaca has not released yet;
#: it costs one such wait on REST, which is the price of not telling the two apart.
LIMIT_RETRY_SECONDS = 300.0
#: the text of Alpaca's 406 error; alpaca-py keeps only the text in its ``ValueError``
CONNECTION_LIMIT_MSG = "connection limit exceeded"


def data_stream_url(stream_url: str, feed: str) -> str:
    """alpaca-py's ``url_override`` replaces the whole endpoint, feed path included."""
    return f"{stream_url.rstrip('/')}/v2/{feed}"


class BarStream:
    """Minute bars of ``symbols`` from the websocket; see the module docstring for the contract."""

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        url: str,
        key: str,
        secret: str,
        feed: str = "iex",
        extended_hours: bool = False,
        stale_seconds: float = STALE_PERIODS * 60.0,
        limit_retry_seconds: float = LIMIT_RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from alpaca.data.enums import DataFeed

        self.symbols = list(symbols)
        self.url = url
        self.stale_seconds = stale_seconds
        self.extended_hours = extended_hours
        self._clock = clock
        self._client = _stock_stream_class()(
            key,
            secret,
            feed=DataFeed(feed),
            url_override=url,
            limit_retry_seconds=limit_retry_seconds,
            on_limit=self._on_limit,
        )
        self._client.subscribe_bars(self._on_bar, *self.symbols)
        self._queue: queue.Queue[tuple[str, datetime, Row]] = queue.Queue()
        #: bars taken off the queue but not closed yet at the last ``take`` (trading thread only)
        self._pending: dict[tuple[str, datetime], Row] = {}
        self._last_message: float | None = None  # written by the stream thread, read by the trading thread
        self._thread: threading.Thread | None = None
        self.received = 0

    @classmethod
    def from_config(
        cls,
        config: AlpacaConfig,
        secrets: Secrets,
        symbols: Sequence[str],
        timeframe: Timeframe,
        *,
        extended_hours: bool = False,
    ) -> BarStream | None:
        """The stream for the daemon when ``alpaca.stream_bars`` is on and bars are 1Min, else None."""
        if not config.stream_bars:
            return None
        if timeframe.is_daily or timeframe.minutes != 1:
            log.info("bars_stream_unused", timeframe=timeframe.name, note="1Min bars only: REST polling")
            return None
        return cls(
            symbols,
            url=data_stream_url(config.stream_url, config.feed),
            key=secrets.alpaca_key or "",
            secret=secrets.alpaca_secret or "",
            feed=config.feed,
            extended_hours=extended_hours,
        )

    # ---- the stream thread -----------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bars-stream", daemon=True)
        self._thread.start()
        log.info("bars_stream_started", url=self.url, symbols=len(self.symbols))

    def _run(self) -> None:
        run_client(self._client, "bars_stream")

    async def _on_bar(self, bar: Any) -> None:
        start = bar.timestamp.astimezone(UTC)
        self._queue.put((bar.symbol, start, (bar.open, bar.high, bar.low, bar.close, bar.volume)))
        self._last_message = self._clock()
        self.received += 1

    def _on_limit(self, limited: bool) -> None:
        """Called by the client (stream thread) when the 406 refusals start and when they end."""
        if limited:
            log.warning(
                "bars_stream_connection_limit",
                url=self.url,
                retry_seconds=self._client.limit_retry_seconds,
                note="Alpaca refused the data stream (406 connection limit exceeded): another "
                "process is using it with these keys; polling REST bars, retrying the "
                "stream every few minutes",
            )
        else:
            log.info("bars_stream_connection_limit_cleared", note="the data stream is ours again")

    # ---- the trading thread ----------------------------------------------------------------

    @property
    def connected(self) -> bool:
        # alpaca-py offers no connection callback: its ``_running`` flag is True between a
        # successful auth+subscribe and the next error, and is read here, never written
        alive = self._thread is not None and self._thread.is_alive()
        return alive and bool(getattr(self._client, "_running", False))

    @property
    def connection_limited(self) -> bool:
        """True from a 406 refusal until an attempt gets in (written by the stream thread only)."""
        return self._client.limited

    def silent_seconds(self) -> float | None:
        """Seconds since the last bar message (None before the first)."""
        last = self._last_message
        return None if last is None else self._clock() - last

    def healthy(self) -> bool:
        silent = self.silent_seconds()
        return self.connected and silent is not None and silent <= self.stale_seconds

    def take(self, now: datetime) -> dict[str, pd.DataFrame]:
        """Closed bars (``start + 1 min <= now``) received so far, per symbol in time order; without
        ``extended_hours`` only regular-session bars, like the REST feed's history (the stream
        also prints pre- and after-market bars, which pile up while the bars job sleeps)."""
        while True:
            try:
                symbol, start, row = self._queue.get_nowait()
            except queue.Empty:
                break
            self._pending[(symbol, start)] = row  # a bar sent again after a reconnect is kept once
        closed = sorted(k for k in self._pending if k[1] + MINUTE <= now)
        rows: dict[str, list[tuple[datetime, Row]]] = {}
        for key in closed:
            rows.setdefault(key[0], []).append((key[1], self._pending.pop(key)))
        frames = {}
        for symbol, items in rows.items():
            index = pd.DatetimeIndex([t for t, _ in items], tz="UTC", name="ts")
            frame = pd.DataFrame([r for _, r in items], index=index, columns=list(BAR_COLUMNS))
            if not self.extended_hours:
                frame = frame[regular_session_mask(frame.index)]
            if len(frame):
                frames[symbol] = frame
        return frames

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop the client and wait up to ``timeout`` s for its thread; True if it ended."""
        return stop_client(self._client, self._thread, timeout, "bars_stream")


@functools.cache
def _stock_stream_class() -> type[Any]:
    """alpaca-py's ``StockDataStream`` that tells a 406 refusal apart and waits long after it.

    Built on first use, since alpaca-py is imported lazily. It hooks two of alpaca-py's private
    methods (0.44): ``_auth``, which raises ``ValueError(msg)`` on an error message, and
    ``_reconnect_delay``, the wait of ``_run_forever`` before the next attempt (interrupted by a
    stop). Only the 406 changes; every other failure keeps alpaca-py's behaviour."""
    from alpaca.data.live.stock import StockDataStream
    from websockets.exceptions import WebSocketException

    class ConnectionLimitExceeded(WebSocketException):
        """A ``WebSocketException`` so that ``_run_forever`` takes its quiet path (the socket
        closed, one warning line, no traceback, its backoff wait) rather than logging the
        refusal as an unexpected error with a traceback on every attempt."""

    class LimitAwareStockDataStream(StockDataStream):
        def __init__(
            self, *args: Any, limit_retry_seconds: float, on_limit: Callable[[bool], None], **kwargs: Any
        ) -> None:
            super().__init__(*args, **kwargs)
            self.limit_retry_seconds = limit_retry_seconds
            self.limited = False
            self._on_limit = on_limit

        async def _auth(self) -> None:
            try:
                await super()._auth()
            except ValueError as exc:
                if CONNECTION_LIMIT_MSG not in str(exc):
                    raise
                if not self.limited:
                    self.limited = True
                    self._on_limit(True)
                raise ConnectionLimitExceeded(str(exc)) from exc
            if self.limited:
                self.limited = False
                self._on_limit(False)

        def _reconnect_delay(self, retries: int) -> float:
            if self.limited:
                return self.limit_retry_seconds
            return float(super()._reconnect_delay(retries))

    return LimitAwareStockDataStream


def run_client(client: Any, name: str) -> None:
    """``client.run()`` on a stream thread: whatever happens, the thread ends quietly (logged)."""
    try:
        client.run()
    except asyncio.CancelledError:
        return  # stopped by ``stop_client``
    except BaseException as exc:  # noqa: BLE001 - a stream thread must never take the daemon down
        log.error(f"{name}_failed", error=f"{type(exc).__name__}: {exc}")
        return
    # alpaca-py gives up on its own only on "insufficient subscription" (e.g. sip without a plan)
    log.warning(f"{name}_ended", note="the stream client gave up; REST/polling goes on")


def stop_client(client: Any, thread: threading.Thread | None, timeout: float, name: str) -> bool:
    """Stop an alpaca-py stream client running ``client.run()`` on ``thread``.

    ``client.stop()`` only sets a flag read between 5-second receive waits; cancelling the tasks
    of its loop ends a receive, a connect or a reconnect backoff at once (asyncio.run then closes
    the loop and its sockets)."""
    if thread is None or not thread.is_alive():
        return True
    deadline = time.monotonic() + timeout
    while thread.is_alive() and time.monotonic() < deadline:
        loop = getattr(client, "_loop", None)  # set by the client once its loop runs
        if loop is not None and loop.is_running():
            try:
                loop.call_soon_threadsafe(_cancel_all, loop)
            except RuntimeError:  # the loop closed in between: the thread is ending
                pass
        thread.join(0.05)
    if thread.is_alive():
        log.warning(f"{name}_not_stopped", seconds=timeout)
        return False
    log.info(f"{name}_stopped")
    return True


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(loop):
        task.cancel()
