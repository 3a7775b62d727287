from datetime import UTC, datetime

import pytest

from bot.broker.base import Position, Side
from bot.engine.planner import order_quantity, target_quantity
from risk.base import Action, OrderIntent, RiskContext
from risk.gate import RiskGate
from risk.max_position import MaxPosition

T = datetime(2024, 1, 2, 21, tzinfo=UTC)


def intent(side, qty, price=100.0, symbol="AAPL"):
    return OrderIntent("id", symbol, side, qty, price, T)


def context(qty=0, equity=10_000.0, pending=0):
    positions = {"AAPL": Position("AAPL", qty, 100.0, 100.0)} if qty else {}
    return RiskContext(equity, equity - qty * 100.0, positions, {"AAPL": pending} if pending else {})


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


def test_max_position_allows_within_limit_and_any_reduction():
    rule = MaxPosition(0.5)
    assert rule.check(intent(Side.BUY, 50), context()).action is Action.ALLOW  # 5,000 = 50%
    assert rule.check(intent(Side.SELL, 70), context(qty=90)).action is Action.ALLOW


def test_max_position_cuts_a_buy_to_the_limit_with_numbers():
    verdict = MaxPosition(0.5).check(intent(Side.BUY, 40), context(qty=20))  # 60 sh > 50 sh
    assert verdict.action is Action.REDUCE and verdict.qty == 30
    assert "6,000.00 > limit 5,000.00" in verdict.reason


def test_max_position_counts_pending_orders_and_denies_when_nothing_fits():
    verdict = MaxPosition(0.5).check(intent(Side.BUY, 10), context(qty=30, pending=20))
    assert verdict.action is Action.DENY and verdict.rule == "max_position"


def test_max_position_dollar_cap_is_the_tighter_limit():
    verdict = MaxPosition(0.5, max_notional=2_000).check(intent(Side.BUY, 40), context())
    assert verdict.action is Action.REDUCE and verdict.qty == 20


def test_gate_passes_reduced_intent_on():
    result = RiskGate([MaxPosition(0.5)]).evaluate(intent(Side.BUY, 80), context())
    assert result.intent.qty == 50 and result.verdict.action is Action.REDUCE
