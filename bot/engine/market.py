"""A causal view of several symbols' bars: at step k nothing after the bar at ``timeline[k]``
is reachable, which is how the engine keeps the no-look-ahead invariant by construction.

Per-symbol NumPy arrays (one per bar column) are sliced up to the current step; rolling helpers
(``rolling_mean``) answer a window statistic of the bars visible now in O(1) per step: the whole
series of that statistic is computed once, on first use, with each value a function of its own
window only (bars at or before it), and the view hands out only the value at the current step.
A strategy updating each step (``sma_cross``) therefore costs the same at bar 10 and bar 10,000.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from bot.data.base import BAR_COLUMNS
from bot.engine.replay_steps import StepTimes

Bar = tuple[float, float, float, float, float]  # open, high, low, close, volume


class MarketView:
    """Replays bars frames step by step over the union of their timestamps."""

    def __init__(self, frames: Mapping[str, pd.DataFrame]) -> None:
        self.symbols: list[str] = list(frames)
        stamps = [frame.index.as_unit("ns").asi8 for frame in frames.values() if len(frame)]
        #: every bar start time of any symbol, ns since epoch, increasing
        self.timeline: np.ndarray = _union(stamps)
        self._columns: dict[str, dict[str, np.ndarray]] = {}
        self._stamps: dict[str, np.ndarray] = {}
        self._visible: dict[str, np.ndarray] = {}
        self._starts_here: dict[str, np.ndarray] = {}
        #: per symbol and step: the step of its latest bar so far (-1: none yet)
        self._last_step: dict[str, np.ndarray] = {}
        self._counts: dict[str, list[int]] = {}
        for symbol, frame in frames.items():
            ts = frame.index.as_unit("ns").asi8
            self._columns[symbol] = {c: frame[c].to_numpy("float64") for c in BAR_COLUMNS}
            self._stamps[symbol] = ts
            visible = np.searchsorted(ts, self.timeline, side="right")
            self._visible[symbol] = visible
            self._counts[symbol] = visible.tolist()  # read once a step per symbol: Python ints
            has_bar = np.zeros(len(self.timeline), dtype=bool)
            has_bar[np.searchsorted(self.timeline, ts)] = True
            self._starts_here[symbol] = has_bar
            steps = np.where(has_bar, np.arange(len(self.timeline)), -1)
            self._last_step[symbol] = np.maximum.accumulate(steps) if len(steps) else steps
        self.step = -1
        self._rolling: dict[tuple[str, str, int], list[float]] = {}
        self._close_lists: dict[str, list[float]] = {}
        self._times: StepTimes | None = None
        #: per symbol its bar columns as lists, and whether a bar starts at each step (first use)
        self._rows: dict[str, list[list[float]]] | None = None
        self._starts_lists: dict[str, list[bool]] = {}
        self._floors: dict[str, np.ndarray] = {}  # sell_stop_floors, made on first use

    def __len__(self) -> int:
        return len(self.timeline)

    def advance(self) -> dict[str, Bar]:
        """Move to the next step; return the bars that start at it, by symbol."""
        self.step += 1
        return self.bars_starting(self.step)

    def bars_starting(self, step: int) -> dict[str, Bar]:
        """The bars that start at ``step``, by symbol."""
        bars = {}
        for symbol in self.symbols:
            bar = self.bar_starting(symbol, step)
            if bar is not None:
                bars[symbol] = bar
        return bars

    def bar_starting(self, symbol: str, step: int) -> Bar | None:
        """``symbol``'s bar that starts at ``step`` (None: none does); a replay's quiet steps
        read step k's only at step k."""
        if self._rows is None:
            # the columns as Python floats; a bar's tuple is made when its step asks for it (a
            # replay's quiet steps ask for none: making every bar's up front cost more)
            self._rows = {s: [self._columns[s][c].tolist() for c in BAR_COLUMNS] for s in self.symbols}
            self._starts_lists = {s: self._starts_here[s].tolist() for s in self.symbols}
        if self._starts_lists[symbol][step]:
            i = self._counts[symbol][step] - 1
            open_, high, low, close, volume = self._rows[symbol]
            return (open_[i], high[i], low[i], close[i], volume[i])
        return None

    def sell_stop_floors(self, symbol: str) -> np.ndarray:
        """Per step, the lowest price a sell stop sees on ``symbol``'s bar starting then: the lower
        of its open and low (a sell stop at level L fills on that bar iff this is <= L, the rule
        of ``bot.broker.sim_trigger``); +inf at steps where no bar of it starts."""
        floors = self._floors.get(symbol)
        if floors is None:
            columns = self._columns[symbol]
            floors = np.full(len(self.timeline), np.inf)
            floors[self._starts_here[symbol]] = np.minimum(columns["open"], columns["low"])
            self._floors[symbol] = floors
        return floors

    def seek_end(self) -> None:
        """Jump to the last step (the live loop's view holds only bars that have closed)."""
        self.step = len(self.timeline) - 1

    @property
    def now(self) -> datetime:
        """Start time of the current step's bars."""
        return self.times[self.step]

    @property
    def times(self) -> StepTimes:
        """Every step's start time (UTC ``datetime``), each made when first read (``StepTimes``)."""
        if self._times is None:
            self._times = StepTimes(self.timeline.astype("datetime64[ns]").view("int64"))
        return self._times

    def count(self, symbol: str) -> int:
        """Bars of ``symbol`` visible now."""
        return self._counts[symbol][self.step] if self.step >= 0 else 0

    def bar_counts(self, symbol: str) -> list[int]:
        """``count(symbol)`` at every step of the replay (read-only)."""
        return self._counts[symbol]

    def column(self, symbol: str, name: str) -> np.ndarray:
        """A read-only view of one column up to and including the current step."""
        view = self._columns[symbol][name][: self.count(symbol)]
        view.flags.writeable = False
        return view

    def bar_starts(self, symbol: str) -> np.ndarray:
        """Start times (ns since epoch, UTC) of ``symbol``'s bars visible now."""
        return self._stamps[symbol][: self.count(symbol)]

    def bars_behind(self, symbol: str) -> int | None:
        """Steps of the market's timeline since ``symbol``'s latest bar (0: it has a bar now;
        None: no bar yet). A symbol that stopped printing while others go on falls behind."""
        if self.step < 0:
            return None
        last = int(self._last_step[symbol][self.step])
        return None if last < 0 else self.step - last

    def closes(self, symbol: str) -> np.ndarray:
        return self.column(symbol, "close")

    def step_closes(self) -> np.ndarray:
        """The whole replay's closes by step (rows: the timeline) and symbol (columns, in order),
        NaN where a symbol has no bar starting at that step: for reports made after the run."""
        closes = np.full((len(self.timeline), len(self.symbols)), np.nan)
        for i, symbol in enumerate(self.symbols):
            closes[self._starts_here[symbol], i] = self._columns[symbol]["close"]
        return closes

    def rolling_mean(self, symbol: str, n: int, name: str = "close") -> float | None:
        """The mean of ``symbol``'s last ``n`` visible values of column ``name`` (None with fewer
        than ``n`` bars): bit for bit ``view.column(symbol, name)[-n:].mean()``, in O(1) a step."""
        step = self.step
        count = self._counts[symbol][step] if step >= 0 else 0
        if count < n or n < 1:
            return None
        return self._means(symbol, n, name)[count - n]

    def _means(self, symbol: str, n: int, name: str) -> list[float]:
        """The mean of every window of ``n`` values of ``symbol``'s column ``name``, made once:
        NumPy's mean of each window, the same reduction as the slice's ``.mean()``
        (tests/engine/test_market_rolling.py checks the bits); value i sees values <= i only.
        Kept as Python floats: indexing a list is cheaper than a NumPy scalar a step."""
        key = (symbol, name, n)
        means = self._rolling.get(key)
        if means is None:
            column = self._columns[symbol][name]
            means = sliding_window_view(column, n).mean(axis=1).tolist() if len(column) >= n else []
            self._rolling[key] = means
        return means

    def rolling_mean_by_step(self, symbol: str, n: int, name: str = "close") -> list[float | None]:
        """What ``rolling_mean(symbol, n, name)`` answers at every step of the replay (None: fewer
        than ``n`` bars then), the same values: for strategies that state their targets for the
        whole replay up front (``Strategy.target_path``). Value k sees bars up to step k only."""
        counts = self._counts[symbol]
        if n < 1:
            return [None] * len(counts)
        means = self._means(symbol, n, name)
        return [means[c - n] if c >= n else None for c in counts]

    def last_close_by_step(self, symbol: str) -> list[float | None]:
        """What ``last_close(symbol)`` answers at every step of the replay (None before its first
        bar), the same values; value k sees bars up to step k only."""
        counts = self._counts[symbol]
        closes = self._columns[symbol]["close"]
        if not len(closes):
            return [None] * len(counts)
        values = closes[np.maximum(np.asarray(counts) - 1, 0)].tolist()
        if counts[0]:  # counts never fall: every step has a bar to show
            return values
        return [v if c else None for v, c in zip(values, counts)]

    def last_close(self, symbol: str) -> float | None:
        step = self.step
        n = self._counts[symbol][step] if step >= 0 else 0
        if not n:
            return None
        closes = self._close_lists.get(symbol)
        if closes is None:  # Python floats, read once a step per symbol (cheaper than NumPy scalars)
            closes = self._close_lists[symbol] = self._columns[symbol]["close"].tolist()
        return closes[n - 1]


def _union(stamps: list[np.ndarray]) -> np.ndarray:
    """The sorted union of the symbols' bar times: one symbol's own increasing times, or times
    every symbol shares, as they are (``np.unique`` sorts again what is sorted)."""
    if not stamps:
        return np.array([], "int64")
    first = stamps[0]
    if bool((first[1:] > first[:-1]).all()) and all(np.array_equal(first, other) for other in stamps[1:]):
        return first
    return np.unique(np.concatenate(stamps))
