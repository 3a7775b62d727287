"""Each rule's allow / reduce / deny / halt, with the numbers in the reason."""

from datetime import timedelta

from riskkit import T, context, intent

from bot.broker.base import Side
from risk.base import Action
from risk.daily_loss import DailyLossLimit
from risk.drawdown import MaxDrawdown
from risk.equity_tracker import EquityTracker
from risk.gross_exposure import MaxGrossExposure
from risk.open_positions import MaxOpenPositions
from risk.order_notional import OrderNotional
from risk.order_rate import OrderRate


def test_gross_exposure_allows_cuts_and_denies():
    rule = MaxGrossExposure(1.0)  # 10,000 of equity
    assert rule.check(intent(Side.BUY, 30), context({"MSFT": 60})).action is Action.ALLOW
    cut = rule.check(intent(Side.BUY, 60), context({"MSFT": 60}))  # 12,000 > 10,000: 40 fit
    assert cut.action is Action.REDUCE and cut.qty == 40
    assert "12,000.00 > limit 10,000.00" in cut.reason
    denied = rule.check(intent(Side.BUY, 1), context({"MSFT": 100}))
    assert denied.action is Action.DENY and "10,100.00 > limit 10,000.00" in denied.reason
    assert rule.check(intent(Side.SELL, 10), context({"AAPL": 50, "MSFT": 100})).action is Action.ALLOW
    assert MaxGrossExposure(0).check(intent(Side.BUY, 10**6), context()).action is Action.ALLOW


def test_max_open_positions_denies_a_new_symbol_only():
    rule = MaxOpenPositions(2)
    full = context({"MSFT": 10, "NVDA": 10})
    denied = rule.check(intent(Side.BUY, 1), full)
    assert denied.action is Action.DENY and "2 open positions >= limit 2" in denied.reason
    assert rule.check(intent(Side.BUY, 1, symbol="MSFT"), full).action is Action.ALLOW
    assert rule.check(intent(Side.BUY, 1), context({"MSFT": 10})).action is Action.ALLOW


def test_order_notional_min_and_max():
    rule = OrderNotional(min_notional=500, max_notional=2_000)
    small = rule.check(intent(Side.BUY, 4), context())
    assert small.action is Action.DENY and "400.00 < min 500.00" in small.reason
    assert rule.check(intent(Side.SELL, 4), context({"AAPL": 4})).action is Action.ALLOW  # an exit
    big = rule.check(intent(Side.BUY, 30), context())
    assert big.action is Action.REDUCE and big.qty == 20 and "3,000.00 > max 2,000.00" in big.reason
    assert rule.check(intent(Side.BUY, 10), context()).action is Action.ALLOW


def test_order_rate_per_minute_and_per_day():
    rule = OrderRate(per_minute=2, per_day=3)
    for k in range(2):
        order = intent(Side.BUY, 1, ts=T + timedelta(seconds=k))
        assert rule.check(order, context()).action is Action.ALLOW
        rule.on_pass(order, None)
    denied = rule.check(intent(Side.BUY, 1, ts=T + timedelta(seconds=30)), context())
    assert denied.action is Action.DENY and "2 orders in the last minute >= limit 2" in denied.reason
    later = intent(Side.BUY, 1, ts=T + timedelta(minutes=2))
    assert rule.check(later, context()).action is Action.ALLOW
    rule.on_pass(later, None)
    daily = rule.check(intent(Side.BUY, 1, ts=T + timedelta(minutes=5)), context())
    assert daily.action is Action.DENY and "3 orders today >= limit 3" in daily.reason
    assert rule.check(intent(Side.BUY, 1, ts=T + timedelta(days=1)), context()).action is Action.ALLOW


def test_daily_loss_halts_new_risk_but_lets_exits_pass():
    rule = DailyLossLimit(0.05)
    ok = context({"AAPL": 10}, equity=9_600, day_start_equity=10_000)
    assert rule.check(intent(Side.BUY, 1), ok).action is Action.ALLOW
    hurt = context({"AAPL": 10}, equity=9_400, day_start_equity=10_000)
    verdict = rule.check(intent(Side.BUY, 1), hurt)
    assert (
        verdict.action is Action.HALT
        and "9,400.00 is 6.00% below the day's start 10,000.00" in verdict.reason
    )
    assert rule.check_account(hurt).action is Action.HALT
    assert rule.check(intent(Side.SELL, 10), hurt).action is Action.ALLOW


def test_drawdown_halts_past_the_limit():
    rule = MaxDrawdown(0.10)
    assert rule.check_account(context(equity=9_100, peak_equity=10_000)).action is Action.ALLOW
    verdict = rule.check_account(context(equity=8_900, peak_equity=10_000))
    assert verdict.action is Action.HALT and "11.00% below its peak 10,000.00" in verdict.reason


def test_equity_tracker_day_start_is_the_previous_new_york_close():
    tracker = EquityTracker()
    tracker.observe(T, 10_000)  # 16:00 New York, Jan 2
    assert tracker.day_start == 10_000
    tracker.observe(T + timedelta(hours=2), 10_500)  # 18:00 New York, still Jan 2
    tracker.observe(T + timedelta(days=1), 9_000)
    assert tracker.day_start == 10_500 and tracker.peak == 10_500


def test_a_stretch_observed_at_once_leaves_the_tracker_step_by_step_observing_leaves():
    """``observe_stretch`` against ``observe_on`` step by step: random stretches over a few days
    (changes of day inside, at the start, or none), from a fresh tracker or a used one, NaNs
    included."""
    import math
    import random
    from datetime import date

    rng = random.Random(4)
    days = [date(2024, 1, d) for d in (2, 3, 4, 5)]
    for _ in range(3000):
        one, other = EquityTracker(), EquityTracker()
        for _ in range(rng.randint(1, 4)):
            n = rng.randint(1, 12)
            start = rng.randrange(len(days))
            stretch_days = sorted(days[min(start + rng.randint(0, 1), 3)] for _ in range(n))
            equities = [rng.choice([math.nan, 90.0, 100.0, 110.0, rng.uniform(80, 120)]) for _ in range(n)]
            for day, equity in zip(stretch_days, equities):
                one.observe_on(day, equity)
            other.observe_stretch(stretch_days, equities)
            for name in ("day", "day_start", "peak", "_last"):
                a, b = getattr(one, name), getattr(other, name)
                assert a == b or (a != a and b != b), (name, a, b, stretch_days, equities)


def test_stale_data_denies_entries_but_not_exits():
    from risk.stale_data import StaleData

    rule = StaleData(2)
    stale = context({"AAPL": 10}, bars_behind={"AAPL": 3})
    denied = rule.check(intent(Side.BUY, 1), stale)
    assert denied.action is Action.DENY and "3 bars old > limit 2" in denied.reason
    assert rule.check(intent(Side.SELL, 10), stale).action is Action.ALLOW
    assert rule.check(intent(Side.BUY, 1), context(bars_behind={"AAPL": 2})).action is Action.ALLOW
