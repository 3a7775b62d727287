"""Bars for the daemon: the window the strategy sees and the two ways new bars arrive.

A *step* is ``(start, {symbol: (open, high, low, close, volume)})``: the bars that start at one
instant of the market's timeline. Sources hand out only steps whose bars have *closed* by "now",
so the engine's no-look-ahead invariant holds in the daemon as in a simulation.

- ``ReplayBars``: history replayed through the scheduler, paced ``speed`` times faster than real
  time. The pace follows the bars, not the calendar: each step lasts one bar period divided by
  ``speed`` and the market's closed hours are skipped (a night would otherwise stall a demo).
- ``LiveBars``: Alpaca's latest bars, polled after each bar close; a gap since the last bar seen
  (a missed poll, a restart) is backfilled from history. With ``alpaca.stream_bars`` (1Min bars)
  the same job takes the bars the websocket delivered (``bot.data.alpaca_stream``) while the
  stream is healthy, and polls REST while it is silent or disconnected; both roads go through
  the same closed-bar filter and the same last-bar-per-symbol de-duplication.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import structlog

from bot.calendar.timeframes import Timeframe
from bot.data.base import BAR_COLUMNS, BarFeed
from bot.engine.market import Bar, MarketView
from bot.errors import DataError

if TYPE_CHECKING:
    from bot.data.alpaca_stream import BarStream

log = structlog.get_logger(__name__)

Step = tuple[datetime, dict[str, Bar]]


def frames_to_steps(frames: Mapping[str, pd.DataFrame]) -> list[Step]:
    """Bars frames -> steps in time order (the union of every symbol's bar start times)."""
    view = MarketView(frames)
    steps = []
    for _ in range(len(view)):
        bars = view.advance()
        steps.append((view.now, bars))
    return steps


def period_seconds(timeframe: Timeframe) -> float:
    """Real time between two bars: the bar length, a day for daily bars."""
    return 86_400.0 if timeframe.is_daily else timeframe.minutes * 60.0


class BarWindow:
    """The last ``keep`` bars of each symbol, shown to the engine as a ``MarketView`` at its end."""

    def __init__(self, symbols: Sequence[str], keep: int) -> None:
        self.symbols = list(symbols)
        self._rows: dict[str, deque[tuple[int, float, float, float, float, float]]] = {
            s: deque(maxlen=keep) for s in self.symbols
        }

    def add(self, start: datetime, bars: Mapping[str, Bar]) -> None:
        ns = int(pd.Timestamp(start).as_unit("ns").value)
        for symbol, bar in bars.items():
            rows = self._rows.get(symbol)
            if rows is not None and (not rows or ns > rows[-1][0]):
                rows.append((ns, *bar))

    def last_start(self, symbol: str) -> datetime | None:
        rows = self._rows[symbol]
        return datetime.fromtimestamp(rows[-1][0] / 1e9, tz=UTC) if rows else None

    def last_close(self, symbol: str) -> float | None:
        rows = self._rows[symbol]
        return rows[-1][4] if rows else None

    def view(self) -> MarketView:
        frames = {}
        for symbol, rows in self._rows.items():
            data = np.array(rows, dtype="float64").reshape(-1, 6)
            index = pd.DatetimeIndex(data[:, 0].astype("int64"), tz="UTC", name="ts")
            frames[symbol] = pd.DataFrame(dict(zip(BAR_COLUMNS, data[:, 1:].T)), index=index)
        view = MarketView(frames)
        view.seek_end()
        return view


class ReplayBars:
    """History paced through the scheduler; ``due()`` returns the steps whose time has come."""

    #: most steps handed out by one ``due()``: a slow machine catches up over several jobs
    MAX_BATCH = 500

    def __init__(
        self,
        steps: list[Step],
        timeframe: Timeframe,
        speed: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        self.timeframe = timeframe
        self._steps = steps
        self._step_seconds = period_seconds(timeframe) / speed
        self._clock = clock
        self._next = 0
        #: steps handed back by ``skip_through`` (a resumed run): not paced again
        self._skipped = 0
        self._started: float | None = None

    @property
    def step_seconds(self) -> float:
        """Wall-clock seconds between two replayed bars: the timeframe's period / speed."""
        return self._step_seconds

    @property
    def tick_seconds(self) -> float:
        """How often the bars job should ask (at least every step, at most 20 times a second)."""
        return min(max(self._step_seconds, 0.05), 1.0)

    @property
    def finished(self) -> bool:
        return self._next >= len(self._steps)

    @property
    def remaining(self) -> int:
        return len(self._steps) - self._next

    def skip_through(self, decided_until: datetime) -> list[Step]:
        """A resumed run: hand back (without pacing) the steps already decided before the crash,
        for the window's warm-up; the replay goes on after them."""
        done = []
        while not self.finished and self.timeframe.close_time(self._steps[self._next][0]) <= decided_until:
            done.append(self._steps[self._next])
            self._next += 1
        self._skipped = self._next
        return done

    def due(self) -> list[Step]:
        now = self._clock()
        if self._started is None:
            self._started = now
        target = min(
            len(self._steps),
            int((now - self._started) / self._step_seconds) + 1 + self._skipped,
            self._next + self.MAX_BATCH,
        )
        out = self._steps[self._next : target]
        self._next = max(self._next, target)
        return out


class LiveBars:
    """New closed bars from a live feed (``AlpacaFeed``): ``latest`` per poll, ``history`` to fill gaps;
    from ``stream`` instead while it is healthy (see the module docstring)."""

    def __init__(
        self,
        feed: BarFeed,
        symbols: Sequence[str],
        timeframe: Timeframe,
        keep: int,
        *,
        stream: BarStream | None = None,
    ) -> None:
        self.feed = feed
        self.symbols = list(symbols)
        self.timeframe = timeframe
        self.keep = keep
        self.stream = stream
        #: where the last poll took its bars: "rest" or "stream" (switches are logged)
        self.source = "rest"
        self._last: dict[str, pd.Timestamp] = {}

    def warm_up(self, now: datetime) -> list[Step]:
        """The last ``keep`` bars per symbol (fewer when the feed has fewer) for the strategy's windows."""
        trading_days = self.keep if self.timeframe.is_daily else self.keep * self.timeframe.minutes / 390
        start = now - timedelta(days=int(trading_days * 1.5) + 5)
        frames = {}
        for symbol in self.symbols:
            try:
                frame = self.feed.history([symbol], start, now, self.timeframe)[symbol]
            except DataError as exc:
                log.warning("warm_up_no_bars", symbol=symbol, error=str(exc))
                continue
            frames[symbol] = self._closed(frame, now).iloc[-self.keep :]
        return self._remember(frames)

    def poll(self, now: datetime) -> list[Step]:
        """Bars closed since the last poll (none when nothing new); a symbol with a gap is backfilled."""
        if self.stream is not None:
            streamed = self.stream.take(now)  # drained on every poll: REST polls must not let it pile up
            if self._use_stream():
                return self._from_stream(streamed, now)
        latest = self.feed.latest(self.symbols, self.timeframe)
        frames = {}
        step = pd.Timedelta(seconds=period_seconds(self.timeframe))
        for symbol, frame in latest.items():
            frame = self._closed(frame, now)
            last = self._last.get(symbol)
            if frame.empty or (last is not None and frame.index[-1] <= last):
                continue
            if last is not None and frame.index[-1] - last > step:
                frame = self._backfill(symbol, last, now, frame)
            frames[symbol] = frame
        return self._remember(frames)

    def _use_stream(self) -> bool:
        stream = self.stream
        assert stream is not None
        healthy = stream.healthy()
        source = "stream" if healthy else "rest"
        if source != self.source:
            if healthy:
                log.info("bars_stream_recovered", note="bars from the websocket")
            else:
                silent = stream.silent_seconds()
                reason = (
                    "disconnected" if not stream.connected else "no bar yet" if silent is None else "silent"
                )
                log.warning(
                    "bars_stream_stale",
                    reason=reason,
                    silent_seconds=None if silent is None else round(silent, 1),
                    note="polling REST until the stream speaks again",
                )
            self.source = source
        return healthy

    def _from_stream(self, streamed: dict[str, pd.DataFrame], now: datetime) -> list[Step]:
        step = pd.Timedelta(seconds=period_seconds(self.timeframe))
        frames = {}
        for symbol, frame in streamed.items():
            last = self._last.get(symbol)
            if last is not None:
                frame = frame[frame.index > last]
            if frame.empty:
                continue
            if last is not None and frame.index[0] - last > step:
                # minutes the stream missed (e.g. while reconnecting, before REST noticed)
                frame = self._backfill(symbol, last, now, frame)
            frames[symbol] = frame
        return self._remember(frames)

    def _backfill(self, symbol: str, last: pd.Timestamp, now: datetime, latest: pd.DataFrame) -> pd.DataFrame:
        try:
            frame = self.feed.history(
                [symbol], (last + pd.Timedelta(seconds=1)).to_pydatetime(), now, self.timeframe
            )[symbol]
        except DataError:
            return latest
        log.info("bars_backfilled", symbol=symbol, bars=len(frame), since=str(last))
        return self._closed(frame, now)

    def _closed(self, frame: pd.DataFrame, now: datetime) -> pd.DataFrame:
        if frame.empty:
            return frame
        keep = [self.timeframe.close_time(t) <= now for t in frame.index.to_pydatetime()]
        return frame[np.asarray(keep, dtype=bool)]

    def _remember(self, frames: dict[str, pd.DataFrame]) -> list[Step]:
        frames = {s: f for s, f in frames.items() if len(f)}
        if not frames:
            return []
        for symbol, frame in frames.items():
            last = self._last.get(symbol)
            if last is not None:
                frames[symbol] = frame = frame[frame.index > last]
            if len(frame):
                self._last[symbol] = frame.index[-1]
        return frames_to_steps({s: f for s, f in frames.items() if len(f)})
