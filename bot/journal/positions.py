"""Position accounting from fills: the one definition of quantity, average cost and realised gain
that ``status``, the daily report and the simulation report show.

The usual convention (the cost of what is still held):

| fill | quantity | average cost | realised |
|---|---|---|---|
| opens a position, or adds to it (same side) | grows | quantity-weighted mean of the old cost and the fill's price | none (``None``) |
| reduces it (other side, not past zero) | shrinks | unchanged | ``closed qty x (price - cost)``, sign flipped for a short |
| closes it exactly | 0 | 0 | as above |
| flips it (long to short or back, through zero) | the remainder, other side | the fill's price (the remainder was opened by it) | on the closed part only |

Commissions are not part of the cost (they are reported as fees). Quantities are whole shares,
positive long and negative short. Light: standard library only (``status`` imports it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Lot:
    """A symbol's net position: ``qty`` (negative = short) and its average cost (0 when flat)."""

    qty: int = 0
    avg_cost: float = 0.0


def apply_fill(lot: Lot, signed_qty: int, price: float) -> tuple[Lot, float | None]:
    """The position after one fill of ``signed_qty`` (buy > 0, sell < 0) at ``price``, and the
    gain it realised (None when the fill only opened or added)."""
    old = lot.qty
    if signed_qty == 0:
        return lot, None
    new = old + signed_qty
    if old == 0 or (old > 0) == (signed_qty > 0):
        return Lot(new, (abs(old) * lot.avg_cost + abs(signed_qty) * price) / abs(new)), None
    closed = min(abs(old), abs(signed_qty))
    realized = closed * (price - lot.avg_cost) * (1 if old > 0 else -1)
    if new == 0:
        return Lot(0, 0.0), realized
    if (new > 0) != (old > 0):  # through zero: what is left was opened at this fill
        return Lot(new, price), realized
    return Lot(new, lot.avg_cost), realized


class FillLike(Protocol):
    """What ``positions`` reads of a fill (``FillRecord`` and the broker's ``Fill`` both fit)."""

    symbol: str
    side: str  # "buy" or "sell" (``Side`` is a StrEnum)
    qty: int
    price: float


def signed(fill: FillLike) -> int:
    """The fill's quantity, positive for a buy and negative for a sell."""
    return fill.qty if str(fill.side) == "buy" else -fill.qty


def positions(fills: Iterable[FillLike]) -> dict[str, Lot]:
    """Every symbol's position after ``fills`` (in the order they happened); flat ones left out."""
    book: dict[str, Lot] = {}
    for fill in fills:
        book[fill.symbol] = apply_fill(book.get(fill.symbol, Lot()), signed(fill), fill.price)[0]
    return {symbol: lot for symbol, lot in sorted(book.items()) if lot.qty}
