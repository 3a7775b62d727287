"""Turns target weights into order quantities (whole shares), with a tolerance band.

For a symbol with target weight w, last close p and account equity E:
``target_qty = trunc(w * E / p)``, ``current = position + open orders``. An order for
``target_qty - current`` is proposed when the position must open (current 0, target not 0), close
(target 0, current not 0), or is off its target by more than ``band * |target_qty|``; otherwise
nothing, so a held position is not churned one share at a time as equity moves.

The target is first held to the risk gate's size cap (``capped_target``): an order the gate's
``max_position`` would deny is not proposed, and the band applies to the capped target, so a
position held at the cap is not topped up a few shares at a time either.
"""

from __future__ import annotations

import math


def target_quantity(weight: float, equity: float, price: float) -> int:
    """Whole shares worth ``weight`` of ``equity`` at ``price``, rounded toward zero."""
    if price <= 0 or not math.isfinite(price) or equity <= 0:
        return 0
    return math.trunc(weight * equity / price)


def order_quantity(target_qty: int, current_qty: int, band: float) -> int:
    """Signed shares to trade (0 = leave the position alone)."""
    delta = target_qty - current_qty
    if delta == 0:
        return 0
    if target_qty == 0 or current_qty == 0:
        return delta
    if (target_qty > 0) != (current_qty > 0):  # the wrong side: always turn around
        return delta
    return delta if abs(delta) > band * abs(target_qty) else 0


def capped_target(target_qty: int, current_qty: int, cap_qty: int | None) -> int:
    """``target_qty`` held to ``cap_qty`` shares a side (the size cap the risk gate's
    ``max_position`` enforces), so the planner does not propose what the gate would deny or cut.

    The cap limits growth only, as ``max_position`` does: a position already past it (its price
    rose) keeps its size rather than being trimmed, and one below it grows at most to it."""
    if cap_qty is None or abs(target_qty) <= cap_qty:
        return target_qty
    sign = 1 if target_qty > 0 else -1
    same_side = current_qty if (current_qty > 0) == (target_qty > 0) else 0
    return sign * max(cap_qty, abs(same_side))


def planned_quantity(
    weight: float, equity: float, price: float, current_qty: int, cap: float | None, band: float
) -> int:
    """Signed shares to trade for one symbol: ``order_quantity(capped_target(target_quantity(...),
    current, floor(cap / price)), current, band)``, the engine's planning rule with the gate's size
    cap ``cap`` in dollars (None: none), written out in one body: a replay asks it at nearly every
    step of a held position (``bot.engine.quiet``), where the three calls cost more than the
    arithmetic. ``tests/engine/test_planner.py`` checks it against the three."""
    if price <= 0 or not math.isfinite(price) or equity <= 0:
        target = 0
    else:
        target = math.trunc(weight * equity / price)
    if cap is not None:
        cap_qty = math.floor(cap / price) if price > 0 else 0
        if abs(target) > cap_qty:
            sign = 1 if target > 0 else -1
            same_side = current_qty if (current_qty > 0) == (target > 0) else 0
            target = sign * max(cap_qty, abs(same_side))
    delta = target - current_qty
    if delta == 0 or target == 0 or current_qty == 0 or (target > 0) != (current_qty > 0):
        return delta
    return delta if abs(delta) > band * abs(target) else 0
