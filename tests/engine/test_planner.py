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
