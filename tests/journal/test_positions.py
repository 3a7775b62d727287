"""The one position accounting (``bot.journal.positions``) against a straightforward reference
over random fill sequences: partial exits, round trips, adds and flips through zero."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.journal.positions import Lot, apply_fill, positions


@dataclass(frozen=True)
class F:
    symbol: str
    side: str
    qty: int
    price: float


def reference(fills: list[tuple[int, float]]) -> tuple[int, float, float]:
    """(qty, average cost, realised) the long way: the held shares' total cost, reduced pro rata
    by each share that leaves, a flip restarting it at the flipping fill's price."""
    qty, basis, realized = 0, 0.0, 0.0
    for signed_qty, price in fills:
        for _ in range(abs(signed_qty)):  # one share at a time
            step = 1 if signed_qty > 0 else -1
            if qty == 0 or (qty > 0) == (step > 0):
                basis += price
            else:
                unit = basis / abs(qty)
                realized += (price - unit) * (1 if qty > 0 else -1)
                basis -= unit
            qty += step
    return qty, (basis / abs(qty) if qty else 0.0), realized


fill_lists = st.lists(
    st.tuples(
        st.integers(-60, 60).filter(bool), st.floats(1, 500, allow_nan=False).map(lambda p: round(p, 2))
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(fill_lists)
def test_average_cost_matches_the_reference(fills):
    lot, realized = Lot(), 0.0
    for signed_qty, price in fills:
        lot, gain = apply_fill(lot, signed_qty, price)
        realized += gain or 0.0
    qty, avg, ref_realized = reference(fills)
    assert lot.qty == qty
    assert lot.avg_cost == pytest.approx(avg, rel=1e-9, abs=1e-9)
    assert realized == pytest.approx(ref_realized, rel=1e-9, abs=1e-6)
    # the cash-flow identity: realised gains plus what is held at cost = minus the cash paid out
    assert realized - lot.qty * lot.avg_cost == pytest.approx(-sum(q * p for q, p in fills), abs=1e-6)
    if lot.qty:  # the cost of a holding lies between the prices paid for it
        assert min(p for _, p in fills) - 1e-9 <= lot.avg_cost <= max(p for _, p in fills) + 1e-9
    else:
        assert lot.avg_cost == 0.0


def test_the_issue_scenario_round_trips_then_a_fresh_buy():
    """Several round trips, then a buy of 468 at 41.47: the cost of what is held is 41.47 (the mean
    of every buy of the run, the old status figure, said 40.35 here)."""
    fills = [
        F("ACME", "buy", 500, 39.10),
        F("ACME", "sell", 500, 39.80),
        F("ACME", "buy", 480, 40.05),
        F("ACME", "sell", 200, 40.60),  # a partial exit
        F("ACME", "sell", 280, 40.20),
        F("ACME", "buy", 468, 41.47),
    ]
    assert positions(fills) == {"ACME": Lot(468, 41.47)}


def test_partial_exit_keeps_the_cost_and_a_flip_restarts_it():
    lot, gain = apply_fill(Lot(10, 100.0), -4, 110.0)
    assert lot == Lot(6, 100.0) and gain == pytest.approx(40.0)
    lot, gain = apply_fill(lot, -10, 90.0)  # long 6 -> short 4 through zero
    assert lot == Lot(-4, 90.0) and gain == pytest.approx(-60.0)
    lot, gain = apply_fill(lot, -2, 84.0)  # adding to the short
    assert lot == Lot(-6, 88.0) and gain is None
    lot, gain = apply_fill(lot, 6, 80.0)  # covering it all: a short gains when the price falls
    assert lot == Lot(0, 0.0) and gain == pytest.approx(48.0)
    assert positions([F("X", "buy", 5, 10.0), F("X", "sell", 5, 12.0)]) == {}  # flat: left out
