"""Cleaning raw bars into a bars frame (the shape is defined in ``bot.data.base``).

Every rule counts what it removed or repaired, so a feed can say what it did to the data.

| key | rule |
|---|---|
| ``nan_price`` | an open/high/low/close that is NaN or infinite: row dropped |
| ``non_positive_price`` | an open/high/low/close <= 0: row dropped |
| ``high_below_low`` | high < low: row dropped (no safe repair) |
| ``zero_volume`` | volume == 0 (a missing volume counts as 0): row dropped |
| ``bad_volume`` | negative or infinite volume: row dropped |
| ``duplicate_ts`` | several rows with one timestamp: the last one in input order is kept |
| ``out_of_order`` | rows not in time order: sorted; the count is the fewest rows that had to move |
| ``high_low_outside_body`` | open or close outside [low, high]: high/low widened to hold them |

A row is counted under the first rule that drops it, in the order of the table. The row rules run
before de-duplication so that a broken re-print of a bar does not replace a good one.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

import numpy as np
import pandas as pd
import structlog

from bot.data.base import BAR_COLUMNS

CLEANING_KEYS: tuple[str, ...] = (
    "nan_price",
    "non_positive_price",
    "high_below_low",
    "zero_volume",
    "bad_volume",
    "duplicate_ts",
    "out_of_order",
    "high_low_outside_body",
)
_PRICES = ["open", "high", "low", "close"]


def clean_bars(
    frame: pd.DataFrame, *, source: str, symbol: str, log: Any = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Apply every cleaning rule to ``frame`` and return ``(bars_frame, counts)``.

    ``frame`` is indexed by tz-aware UTC timestamps and holds float columns
    ``open, high, low, close, volume`` (other columns are dropped). The input is not modified.
    ``counts`` holds every key of ``CLEANING_KEYS``. When any count is non-zero one warning
    ``bars_cleaned`` is logged with ``source``, ``symbol``, ``rows`` (kept) and the non-zero counts.
    """
    counts = dict.fromkeys(CLEANING_KEYS, 0)
    # a new frame from the columns' arrays (pandas' column selection costs more than the copy);
    # native_minutes() reads the index as nanoseconds, and pandas 3 parses to s/us by default.
    columns = {name: frame[name].to_numpy("float64") for name in BAR_COLUMNS}
    out = pd.DataFrame(columns, index=pd.DatetimeIndex(frame.index).as_unit("ns"), copy=True)

    prices = np.column_stack([columns[name] for name in _PRICES])
    volume = columns["volume"]
    volume = np.where(np.isnan(volume), 0.0, volume)
    drop_rules = (
        ("nan_price", ~np.isfinite(prices).all(axis=1)),
        ("non_positive_price", (prices <= 0).any(axis=1)),
        ("high_below_low", prices[:, 1] < prices[:, 2]),
        ("zero_volume", volume == 0),
        ("bad_volume", (volume < 0) | np.isinf(volume)),
    )
    dropped = np.zeros(len(out), dtype=bool)
    for key, bad in drop_rules:
        new = bad & ~dropped
        counts[key] = int(new.sum())
        dropped |= new
    if dropped.any():  # NaN volumes counted as 0 and were dropped: no NaN survives
        out = out[~dropped]

    duplicated = out.index.duplicated(keep="last")
    if duplicated.any():
        counts["duplicate_ts"] = int(duplicated.sum())
        out = out[~duplicated]

    if not out.index.is_monotonic_increasing:
        counts["out_of_order"] = _rows_out_of_place(out.index.asi8)
        out = out.sort_index(kind="stable")

    # on NumPy arrays: no NaN is left, so max/min need not skip any (pandas' per-call cost is not)
    open_, high, low, close = (out[name].to_numpy() for name in _PRICES)
    body_high = np.maximum(open_, close)
    body_low = np.minimum(open_, close)
    outside = (high < body_high) | (low > body_low)
    if outside.any():
        counts["high_low_outside_body"] = int(outside.sum())
        out = out.assign(high=np.maximum(high, body_high), low=np.minimum(low, body_low))

    out.index.name = "ts"
    changed = {key: n for key, n in counts.items() if n}
    if changed:
        logger = log if log is not None else structlog.get_logger(__name__)
        logger.warning("bars_cleaned", source=source, symbol=symbol, rows=len(out), **changed)
    return out, counts


def _rows_out_of_place(values: np.ndarray) -> int:
    """How many rows must move to sort ``values`` (distinct): n minus the longest increasing run.

    Counting rows below a running maximum would blame every row after one early outlier.
    """
    tails: list[int] = []
    for value in values.tolist():
        position = bisect_left(tails, value)
        if position == len(tails):
            tails.append(value)
        else:
            tails[position] = value
    return len(values) - len(tails)
