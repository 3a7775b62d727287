"""Property-based: whatever the targets, prices and positions, what passes the gate never takes
a position past max_position, the book past max gross exposure or max open positions, and a halted
gate passes nothing but exposure-reducing orders."""

from hypothesis import given, settings
from hypothesis import strategies as st
from riskkit import T

from bot.broker.base import Position, Side
from bot.config import RiskConfig
from risk.base import OrderIntent, RiskContext, reduces_exposure
from risk.gate import RiskGate
from risk.killswitch import KillSwitch

SYMBOLS = ["A", "B", "C", "D"]
CONFIG = RiskConfig(max_position_pct=0.4, max_gross_exposure_pct=1.0, max_open_positions=2)

prices = st.floats(min_value=1.0, max_value=500.0, allow_nan=False)
books = st.dictionaries(st.sampled_from(SYMBOLS), st.tuples(st.integers(-50, 50), prices), max_size=4)
orders = st.lists(
    st.tuples(st.sampled_from(SYMBOLS), st.integers(-400, 400).filter(bool), prices), min_size=1, max_size=12
)


class MemorySwitch(KillSwitch):
    """A kill switch without a journal (the property runs thousands of times)."""

    def __init__(self, halted: bool) -> None:
        self._halted = halted

    def halt(self, by: str, reason: str) -> None:
        self._halted = True

    def state(self):
        from risk.killswitch import SwitchState

        return SwitchState(self._halted, "test")


def _book(raw: dict) -> dict[str, Position]:
    return {s: Position(s, q, p, p) for s, (q, p) in raw.items() if q}


def _gross(positions: dict[str, Position]) -> float:
    return sum(abs(p.qty) * p.last_price for p in positions.values())


@settings(max_examples=300, deadline=None)
@given(book=books, sequence=orders, equity=st.floats(min_value=1_000, max_value=100_000))
def test_passed_orders_stay_within_the_limits(book, sequence, equity):
    positions = _book(book)
    gate = RiskGate.from_config(CONFIG)
    for symbol, qty, price in sequence:
        # the mark moves to the order's price, as a new bar would
        if symbol in positions:
            positions[symbol] = positions[symbol]._replace(last_price=price)
        context = RiskContext(equity, equity, dict(positions), {})
        before = _gross(positions)
        opened_before = len(positions)
        side = Side.BUY if qty > 0 else Side.SELL
        result = gate.evaluate(OrderIntent("id", symbol, side, abs(qty), price, T), context)
        if result.intent is None:
            continue
        reducing = reduces_exposure(result.intent, context)
        held = positions.get(symbol)
        after = (held.qty if held else 0) + result.intent.signed_qty
        positions[symbol] = Position(symbol, after, price, price)
        if not after:
            del positions[symbol]
        if reducing:
            continue
        assert abs(after) * price <= CONFIG.max_position_pct * equity + 1e-6
        assert _gross(positions) <= max(CONFIG.max_gross_exposure_pct * equity, before) + 1e-6
        assert len(positions) <= max(CONFIG.max_open_positions, opened_before)


@settings(max_examples=300, deadline=None)
@given(book=books, sequence=orders)
def test_a_halted_gate_passes_only_reductions(book, sequence):
    gate = RiskGate.from_config(RiskConfig(), MemorySwitch(True))
    positions = _book(book)
    context = RiskContext(10_000.0, 10_000.0, positions, {})
    for symbol, qty, price in sequence:
        side = Side.BUY if qty > 0 else Side.SELL
        result = gate.evaluate(OrderIntent("id", symbol, side, abs(qty), price, T), context)
        if result.intent is not None:
            assert reduces_exposure(result.intent, context)
