"""What the PnL figure shows, as plain arrays (the pandas half of ``bot.report.pnl``).

``pnl_data`` turns a run's equity curve and fills into a ``PnlData``: NumPy arrays only, so the
figure can be drawn by a process that never imports pandas (``bot.report.plot_worker``; pandas is
imported inside the functions that need it) and the pickle it travels in stays small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.calendar.timeframes import NEW_YORK

if TYPE_CHECKING:
    import pandas as pd

SYNTHETIC_NOTE = "SYNTHETIC sample market: these results mean nothing about real markets"

#: fill kinds marked on the equity line, in legend order
MARKER_KINDS = ("buy", "sell", "protective stop")


@dataclass(frozen=True)
class PnlData:
    """One figure's data. Times are naive New York wall times (``datetime64[ns]``)."""

    times: np.ndarray  # one per step
    equity: np.ndarray
    buy_and_hold: np.ndarray
    drawdown: np.ndarray  # positive fractions, one per step
    days: np.ndarray  # one per New York trading day (midnight)
    daily_pnl: np.ndarray  # dollars, one per day
    #: kind -> (step rows that had such a fill, how many fills of that kind)
    markers: dict[str, tuple[np.ndarray, int]] = field(default_factory=dict)


def pnl_data(curve: pd.DataFrame, fills: Sequence[Any] = ()) -> PnlData:
    """``curve``: columns equity and buy_and_hold, UTC index; ``fills``: ``bot.broker.base.Fill``.

    A fill is marked at the last step at or before its time (a fill before the first step is not
    marked); protective stops are the fills whose id ends in ``-stop``."""
    import pandas as pd

    from bot.report.metrics import daily_equity, drawdown

    equity = curve["equity"]
    daily = daily_equity(equity)
    pnl = daily.diff().fillna(daily.iloc[0] - equity.iloc[0])
    return PnlData(
        times=curve.index.tz_convert(NEW_YORK).tz_localize(None).to_numpy(),
        equity=equity.to_numpy(dtype=float),
        buy_and_hold=curve["buy_and_hold"].to_numpy(dtype=float),
        drawdown=drawdown(equity.to_numpy(dtype=float)),
        days=pd.to_datetime(pnl.index).to_numpy(),
        daily_pnl=pnl.to_numpy(dtype=float),
        markers=_markers(curve.index, fills),
    )


def _markers(index: pd.DatetimeIndex, fills: Sequence[Any]) -> dict[str, tuple[np.ndarray, int]]:
    if not len(fills) or index.empty:
        return {}
    import pandas as pd

    times: dict[str, list] = {kind: [] for kind in MARKER_KINDS}
    for fill in fills:
        if fill.client_order_id.endswith("-stop"):
            times["protective stop"].append(fill.ts)
        else:
            times["buy" if str(fill.side).lower().endswith("buy") else "sell"].append(fill.ts)
    out = {}
    for kind, stamps in times.items():
        if stamps:
            at = pd.DatetimeIndex(stamps).tz_convert(index.tz)
            rows = sorted(set(index.searchsorted(at, side="right") - 1) - {-1})
            out[kind] = (np.asarray(rows, dtype=np.int64), len(stamps))
    return out
