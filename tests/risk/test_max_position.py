from datetime import UTC, datetime

from bot.broker.base import Position, Side
from risk.base import Action, OrderIntent, RiskContext
from risk.gate import RiskGate
from risk.max_position import MaxPosition

T = datetime(2024, 1, 2, 21, tzinfo=UTC)


def intent(side, qty, price=100.0, symbol="AAPL"):
    return OrderIntent("id", symbol, side, qty, price, T)


def context(qty=0, equity=10_000.0, pending=0):
    positions = {"AAPL": Position("AAPL", qty, 100.0, 100.0)} if qty else {}
    return RiskContext(equity, equity - qty * 100.0, positions, {"AAPL": pending} if pending else {})


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


def test_the_cap_function_answers_what_position_cap_answers():
    assert RiskGate([]).position_cap_function() is None and RiskGate([]).position_cap(1e5) is None
    for rules in ([MaxPosition(0.5)], [MaxPosition(0.5), MaxPosition(0.3, 20_000.0)]):
        gate = RiskGate(rules)
        cap = gate.position_cap_function()
        for equity in (-10.0, 0.0, 50_000.0, 100_000.0, 1e7):
            assert cap(equity) == gate.position_cap(equity)
