"""The volatility-managed books trade once per book and price every cost from that one path
(bot.forecast.vol_books): the same bits as running the book day by day at each cost."""

import numpy as np

from bot.forecast.vol_books import book_weights, run_book, trade_path, vol_managed_books


def day_by_day(target: np.ndarray, r: np.ndarray, cost_bps: float, band: float) -> tuple[np.ndarray, float]:
    """The book as it was written before one path served every cost: costs paid inside the loop."""
    held = np.zeros(target.shape[1])
    out = np.empty(len(target))
    traded_total = 0.0
    for day in range(len(target)):
        want = target[day]
        delta = want - held
        trade = (
            (held == 0)
            | (want == 0)
            | (np.sign(want) != np.sign(held))
            | (np.abs(delta) > band * np.abs(want))
        )
        traded = float(np.abs(delta[trade]).sum())
        held = np.where(trade, want, held)
        gross = float(held @ r[day])
        out[day] = gross - cost_bps / 10_000 * traded
        traded_total += traded
        held = held * (1.0 + r[day]) / (1.0 + gross)
    return out, traded_total


def market(days: int = 300, symbols: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    r = rng.normal(0.0003, 0.015, (days, symbols))
    variance = rng.lognormal(np.log(2e-4), 0.5, (days, symbols))
    return r, variance


def test_one_path_prices_every_cost_as_the_day_by_day_book_does() -> None:
    r, variance = market()
    target = book_weights(variance, 0.25, 1.0, 252)
    path = trade_path(target, r, 0.25)
    assert path[2] > 0 and (path[1] >= 0).all()
    for cost in (0.0, 5.0, 10.0, 20.0):
        expected, expected_traded = day_by_day(target, r, cost, 0.25)
        for returns, traded in (run_book(target, r, cost, 0.25), run_book(target, r, cost, 0.25, path)):
            np.testing.assert_array_equal(returns, expected)
            assert traded == expected_traded


def test_costs_lower_the_books_returns_by_what_they_trade() -> None:
    r, variance = market(days=120, symbols=3)
    days = np.repeat(np.arange(120) * 86_400_000_000_000, 3)
    rows, curves = vol_managed_books(
        ts=days,
        symbols=np.tile(np.array(["A", "B", "C"]), 120),
        next_return=np.log1p(r.ravel()),
        variance={"lstm": variance.ravel(), "ewma": variance[::-1].ravel()},
        costs_bps=(0, 5, 10, 20),
        periods_per_year=252,
        band=0.25,
    )
    by = {(row["cost_bps"], row["book"]): row for row in rows}
    assert len(rows) == 12 and list(curves.columns) == ["lstm", "ewma", "buy_and_hold"]
    for book in ("lstm", "ewma"):
        totals = [by[(cost, book)]["total_return"] for cost in (0, 5, 10, 20)]
        assert totals == sorted(totals, reverse=True) and totals[0] > totals[-1]
        assert len({by[(cost, book)]["turnover"] for cost in (0, 5, 10, 20)}) == 1  # the same trades
