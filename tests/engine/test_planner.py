"""The planner's pure sizing: target shares from a weight, and the rebalance band."""

import pytest

from bot.engine.planner import order_quantity, target_quantity


@pytest.mark.parametrize(
    "weight, equity, price, expected",
    [(0.5, 10_000, 30.0, 166), (0.0, 10_000, 30.0, 0), (-0.5, 10_000, 30.0, -166), (0.5, 10_000, 0.0, 0)],
)
def test_target_quantity_truncates_toward_zero(weight, equity, price, expected):
    assert target_quantity(weight, equity, price) == expected


@pytest.mark.parametrize(
    "target, current, band, expected",
    [
        (100, 0, 0.25, 100),  # open
        (0, 80, 0.25, -80),  # close
        (100, 80, 0.25, 0),  # 20% off: inside the band
        (100, 70, 0.25, 30),  # 30% off: rebalance
        (-50, 40, 0.25, -90),  # wrong side: turn around
        (100, 100, 0.25, 0),
    ],
)
def test_order_quantity_band(target, current, band, expected):
    assert order_quantity(target, current, band) == expected


def test_planned_quantity_is_the_three_steps_in_one():
    """``planned_quantity`` against ``order_quantity(capped_target(target_quantity(...)))`` on
    random weights, equities, prices (zero, negative, NaN, inf among them), positions, caps and
    bands."""
    import math
    import random

    from bot.engine.planner import capped_target, planned_quantity

    rng = random.Random(8)
    prices = [0.0, -1.0, math.nan, math.inf, 0.37, 1.0, 12.5, 431.2, 1999.99]
    for _ in range(50_000):
        weight = rng.choice([0.0, 1.0, -1.0, 0.5, -0.25, rng.uniform(-1.5, 1.5)])
        equity = rng.choice([0.0, -50.0, 1_000.0, 100_000.0, rng.uniform(-1e3, 1e6)])
        price = rng.choice(prices) if rng.random() < 0.3 else rng.uniform(0.01, 2_000)
        current = rng.choice([0, 0, 1, -1, 10, -10, 500, -500, rng.randint(-5_000, 5_000)])
        cap = rng.choice([None, 0.0, 10_000.0, rng.uniform(0, 1e6)])
        band = rng.choice([0.0, 0.05, 0.5, 1.0, 2.0])
        wanted = target_quantity(weight, equity, price)
        if cap is not None:
            wanted = capped_target(wanted, current, math.floor(cap / price) if price > 0 else 0)
        assert planned_quantity(weight, equity, price, current, cap, band) == order_quantity(
            wanted, current, band
        ), (weight, equity, price, current, cap, band)
