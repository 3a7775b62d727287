"""Where an order fills on one OHLC bar: the fill-price table of ``bot.broker.sim`` as a function."""

from __future__ import annotations

from bot.broker.base import OrderRequest, OrderType, Side


def trigger(request: OrderRequest, open_: float, high: float, low: float) -> tuple[float, bool] | None:
    """Where ``request`` fills on a bar: (raw price, filled at the open?), or None if it does not.

    ``open_`` is the first price the order sees: the bar's open, or the entry price for a
    protective stop born inside the bar. Limit/stop prices must have been validated.
    """
    if request.type is OrderType.MARKET:
        return open_, True
    buy = request.side is Side.BUY
    if request.type is OrderType.LIMIT:
        level = request.limit_price
        assert level is not None
        if buy:
            return (open_, True) if open_ <= level else (level, False) if low <= level else None
        return (open_, True) if open_ >= level else (level, False) if high >= level else None
    level = request.stop_price
    assert level is not None
    if buy:
        return (open_, True) if open_ >= level else (level, False) if high >= level else None
    return (open_, True) if open_ <= level else (level, False) if low <= level else None
