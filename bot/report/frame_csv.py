"""A report's table written as CSV: the bytes of ``DataFrame.to_csv(float_format=...)`` with the
index spelled by ``Timestamp.isoformat()``, made from whole columns instead of value by value.

A simulation's equity.csv has a row per step and three float columns: pandas formats each value
and each time through a Python call (tenths of a second for eleven years of days, more for
minute bars); here a UTC index is spelled by NumPy in one call and a row is one ``%`` format.
An index of another kind (not UTC, or not whole microseconds) is spelled by ``isoformat`` as
before.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

_ONE_SECOND_NS = 1_000_000_000
_ONE_MICROSECOND_NS = 1_000


def iso_times(index: pd.DatetimeIndex) -> list[str]:
    """``[t.isoformat() for t in index]``; vectorised for a UTC index."""
    if str(index.tz) != "UTC":
        return [t.isoformat() for t in index]
    ns = index.as_unit("ns").asi8
    if (ns % _ONE_MICROSECOND_NS != 0).any():  # isoformat's nanoseconds: not worth spelling here
        return [t.isoformat() for t in index]
    times = ns.view("datetime64[ns]")
    # isoformat shows no fraction for a whole second, six digits otherwise (time by time)
    text = np.datetime_as_string(times, unit="s")
    fraction = ns % _ONE_SECOND_NS != 0
    if fraction.any():
        text = np.where(fraction, np.datetime_as_string(times, unit="us"), text)
    return [f"{t}+00:00" for t in text.tolist()]


def write_frame_csv(frame: pd.DataFrame, path: Path, float_format: str = "%.6f") -> None:
    """Write ``frame`` (a ``DatetimeIndex``, float columns) as ``frame.to_csv(path,
    float_format=float_format)`` would with its index turned into ``isoformat`` strings: the same
    header, a NaN as an empty field, ``\\n`` line ends."""
    columns = [frame[name].to_numpy(dtype=float).tolist() for name in frame.columns]
    header = ",".join([_cell(frame.index.name), *(_cell(name) for name in frame.columns)])
    if any(math.isnan(v) for column in columns for v in column):
        rows = (
            ",".join([stamp, *("" if math.isnan(v) else float_format % v for v in values)])
            for stamp, *values in zip(iso_times(frame.index), *columns, strict=True)
        )
    else:
        line = ",".join(["%s", *[float_format] * len(columns)])
        rows = (line % row for row in zip(iso_times(frame.index), *columns, strict=True))
    with open(path, "w", newline="") as handle:
        handle.write(header + "\n")
        for row in rows:
            handle.write(row + "\n")


def _cell(name: object) -> str:
    """A header cell as pandas writes a plain name (``None`` is empty)."""
    text = "" if name is None else str(name)
    if any(c in text for c in ',"\n\r'):
        raise ValueError(f"a column name that needs CSV quoting: {text!r}")  # none of ours does
    return text
