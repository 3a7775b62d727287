"""Small builders shared by the risk tests (imported as ``from riskkit import ...``)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.broker.base import Position, Side
from risk.base import OrderIntent, RiskContext

T = datetime(2024, 1, 2, 21, tzinfo=UTC)


def intent(side: Side, qty: int, price: float = 100.0, symbol: str = "AAPL", ts: datetime = T) -> OrderIntent:
    return OrderIntent(f"id-{symbol}", symbol, side, qty, price, ts)


def context(
    held: dict[str, int] | None = None, equity: float = 10_000.0, price: float = 100.0, **extra
) -> RiskContext:
    positions = {s: Position(s, q, price, price) for s, q in (held or {}).items() if q}
    return RiskContext(equity, equity, positions, {}, **extra)
