"""Our ``sma_cross`` and backtesting.py on the same bars, with the same rule: the parity test
(``tests/e2e/test_backtesting_parity.py``) and the benchmark (``benchmarks/sim_vs_backtesting.py``)
share this module, so the benchmark times exactly the strategy the test proves identical.

The rule, in both: long while the mean of the last ``fast`` closes is strictly above the mean of
the last ``slow`` closes, flat otherwise; an entry buys ``trunc(allocation x equity / close)``
shares, decided at a bar's close and filled at the next bar's open; no costs, no stops, no loss
limits, no resizing of a held position (what backtesting.py's strategy below does).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: the [risk] / [broker] / [strategy] keys whose defaults would break parity, set so they cannot:
#: no costs (slippage 1 bp by default), no protective stop (10 %), no loss limits (8 % daily, 25 %
#: drawdown halt), no 50 % position cap, no cash buffer (1 %), no resizing of a held position (the
#: 25 % rebalance band could resize one on a large move), no stale-data, PDT or session rule. The
#: limits that are off while their key is absent are left out.
PARITY_CONFIG = """
[broker]
initial_cash = {cash}
slippage_bps = 0.0
commission_per_share = 0.0
commission_pct = 0.0
min_commission = 0.0
allow_short = false

[strategy]
name = "sma_cross"
allocation = {allocation}
rebalance_band = 1.0
cash_buffer = 0.0

[strategy.sma_cross]
fast = {fast}
slow = {slow}

[risk]
max_position_pct = 1.0
daily_loss_pct = 0.0
max_drawdown_pct = 0.0
max_stale_bars = 0
stop_loss_pct = 0.0
pdt_guard = false

[data]
extended_hours = true
"""


@dataclass(frozen=True)
class Trade:
    """One round trip (or the open position at the end, exit fields None)."""

    symbol: str
    size: int
    entry_time: pd.Timestamp
    entry_price: float
    exit_time: pd.Timestamp | None
    exit_price: float | None

    def rounded(self) -> tuple:
        """The trade to the cent, times as New York dates-and-times without zone (comparable)."""
        return (
            self.symbol,
            self.size,
            self.entry_time,
            round(self.entry_price, 2),
            self.exit_time,
            None if self.exit_price is None else round(self.exit_price, 2),
        )


def parity_config(
    *, cash: float = 100_000.0, allocation: float = 0.95, fast: int = 10, slow: int = 20
) -> str:
    """The config text (to append after journal/log paths) for a parity run."""
    return PARITY_CONFIG.format(cash=cash, allocation=allocation, fast=fast, slow=slow)


def write_goog(directory: Path) -> Path:
    """backtesting.py's bundled GOOG daily bars as ``DIR/GOOG.csv`` in our CSV feed's format
    (a ``date`` column of New York trading days, then open, high, low, close, volume)."""
    from backtesting.test import GOOG

    directory.mkdir(parents=True, exist_ok=True)
    frame = GOOG.rename(columns=str.lower)
    frame.index = frame.index.strftime("%Y-%m-%d")
    frame.index.name = "date"
    frame.to_csv(directory / "GOOG.csv")
    return directory


def read_bars(path: Path) -> pd.DataFrame:
    """One of our CSV files as backtesting.py wants it: Open/High/Low/Close/Volume columns on a
    naive New York time index (dates for daily bars, minute times for intraday bars)."""
    frame = pd.read_csv(path)
    frame.columns = [c.strip().lower() for c in frame.columns]
    time_column = "date" if "date" in frame.columns else "time"
    index = pd.to_datetime(frame[time_column], utc=time_column != "date")
    if time_column != "date":
        index = index.dt.tz_convert("America/New_York").dt.tz_localize(None)
    out = frame[["open", "high", "low", "close", "volume"]].astype(float)
    out.columns = ["Open", "High", "Low", "Close", "Volume"]
    out.index = pd.DatetimeIndex(index)
    return out


def regular_session(frame: pd.DataFrame) -> pd.DataFrame:
    """Minute bars of the regular session only (09:30 to 15:59 New York), as our CSV feed keeps
    them by default."""
    minutes = frame.index.hour * 60 + frame.index.minute
    return frame[(minutes >= 9 * 60 + 30) & (minutes < 16 * 60)]


def sma_rule_strategy(fast: int, slow: int, allocation: float = 0.95):
    """A backtesting.py ``Strategy`` class with our ``sma_cross`` rule (see the module docstring)."""
    from backtesting import Strategy

    def sma(values: np.ndarray, n: int) -> np.ndarray:
        # the mean of each window of n closes, exactly as our strategy takes it (NumPy's mean of the
        # slice), so a near-tie between the two means falls the same way in both
        out = np.full(len(values), np.nan)
        if len(values) >= n:
            out[n - 1 :] = np.lib.stride_tricks.sliding_window_view(np.asarray(values, float), n).mean(axis=1)
        return out

    class SmaRule(Strategy):
        def init(self) -> None:
            # plain arrays, not ``self.I`` indicators: backtesting.py starts calling ``next`` one bar
            # after its indicators' warm-up ("to have at least two entries available"), which would
            # skip the first bar with ``slow`` closes, where ours decides already
            close = np.asarray(self.data.Close, float)
            self.fast_sma = sma(close, fast)
            self.slow_sma = sma(close, slow)

        def next(self) -> None:
            i = len(self.data) - 1
            if self.fast_sma[i] > self.slow_sma[i]:  # False while either is NaN (warming up)
                if not self.position:
                    size = int(allocation * self.equity / self.data.Close[-1])
                    if size > 0:
                        self.buy(size=size)
            elif self.position:
                self.position.close()

    SmaRule.__name__ = f"SmaRule{fast}_{slow}"
    return SmaRule


def backtesting_trades(stats: pd.Series, symbol: str) -> list[Trade]:
    """The round trips of a ``Backtest.run`` result (``finalize_trades=True`` closes the last one
    at the end; it is reported here as open, like ours)."""
    trades = []
    for row in stats._trades.itertuples():
        trades.append(
            Trade(
                symbol,
                int(row.Size),
                row.EntryTime,
                float(row.EntryPrice),
                row.ExitTime,
                float(row.ExitPrice),
            )
        )
    return trades


def our_trades(fills, *, daily: bool, strict: bool = True) -> list[Trade]:
    """Our fills (``bot.broker.base.Fill``, long only) paired into round trips, from the buy that
    opens a position to the sale that closes it; times as naive New York stamps (dates for daily
    bars), like backtesting.py's index. ``strict``: every trade is all in / all out (a parity run);
    otherwise a resize in between (a portfolio's rebalance) is passed over and the size is the
    opening buy's."""
    trades: list[Trade] = []
    held = 0
    entry = None
    for fill in fills:
        stamp = pd.Timestamp(fill.ts).tz_convert("America/New_York").tz_localize(None)
        if daily:
            stamp = stamp.normalize()
        buy = str(fill.side).lower().endswith("buy")
        if strict:
            assert (held == 0) == buy and (buy or fill.qty == held), "parity runs are all in / all out"
        if buy and held == 0:
            entry = (stamp, fill)
        held += fill.qty if buy else -fill.qty
        if held == 0 and entry is not None:
            trades.append(Trade(fill.symbol, entry[1].qty, entry[0], entry[1].price, stamp, fill.price))
            entry = None
    if entry is not None:
        trades.append(Trade(entry[1].symbol, entry[1].qty, entry[0], entry[1].price, None, None))
    return trades
