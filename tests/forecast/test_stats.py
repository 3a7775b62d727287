"""Forecast statistics: hand-computed metrics, distribution functions, DM and PT tests, trading view."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.forecast.stats import (
    diebold_mariano,
    forecast_metrics,
    normal_cdf,
    normal_sf,
    pesaran_timmermann,
    positions_from_forecast,
    student_t_cdf,
    trading_view,
)

# ---------------------------------------------------------------- metrics


def test_metrics_hand_computed():
    m = forecast_metrics([0.01, -0.02, 0.0, 0.03], [0.02, 0.01, -0.01, 0.0])
    assert m["n"] == 4
    assert m["rmse"] == pytest.approx(math.sqrt(5e-4))  # errors 0.01, 0.03, -0.01, -0.03
    assert m["mae"] == pytest.approx(0.02)
    # the true-0 bar is left out; bar 0 hits, bar 1 misses, bar 3 (forecast exactly 0) is a miss
    assert m["directional_accuracy"] == pytest.approx(1 / 3)
    # ranks y = 3,1,2,4 and pred = 4,3,1,2: sum d^2 = 10, rho = 1 - 6*10/(4*15) = 0
    assert m["ic"] == pytest.approx(0.0, abs=1e-12)


def test_ic_with_ties_uses_average_ranks():
    # ranks y = 1, 2.5, 2.5, 4; pred = 1..4 -> rho = 4.5 / sqrt(4.5 * 5)
    assert forecast_metrics([1, 2, 2, 3], [1, 2, 3, 4])["ic"] == pytest.approx(4.5 / math.sqrt(22.5))
    assert forecast_metrics([1, 2, 3, 4], [10, 20, 30, 40])["ic"] == pytest.approx(1.0)
    assert forecast_metrics([1, 2, 3, 4], [4, 3, 2, 1])["ic"] == pytest.approx(-1.0)


def test_constant_zero_forecast_has_no_direction_and_no_ic():
    m = forecast_metrics([0.01, -0.02, 0.03], [0.0, 0.0, 0.0])
    assert m["directional_accuracy"] is None and m["ic"] is None
    assert m["rmse"] == pytest.approx(math.sqrt((1 + 4 + 9) / 3) * 0.01)


def test_metrics_reject_bad_input():
    with pytest.raises(ValueError):
        forecast_metrics([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        forecast_metrics([], [])
    with pytest.raises(ValueError):
        forecast_metrics([1.0, float("nan")], [1.0, 2.0])


# ---------------------------------------------------------------- distributions


@pytest.mark.parametrize(
    ("t", "df", "expected"),
    [
        (2.228139, 10, 0.975),  # two-sided 5% critical value, 10 df
        (2.042272, 30, 0.975),
        (-4.032143, 5, 0.005),
        (3.169273, 10, 0.995),
        (1.0, 1, 0.75),  # Cauchy: 1/2 + atan(1)/pi
        (0.0, 7, 0.5),
        (1.959964, 1e8, 0.975),  # normal limit
    ],
)
def test_student_t_cdf_known_quantiles(t, df, expected):
    assert student_t_cdf(t, df) == pytest.approx(expected, abs=1e-6)


def test_student_t_cdf_closed_form_df2_and_large_df():
    for t in (-5.0, -1.3, 0.4, 2.0, 9.0):
        assert student_t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), abs=1e-12)
    assert student_t_cdf(1.5, 5000) == pytest.approx(normal_cdf(1.5), abs=1e-4)
    assert student_t_cdf(-40.0, 3) > 0 and student_t_cdf(-40.0, 3) < 1e-4


def test_normal_cdf_known_quantiles():
    assert normal_cdf(0.0) == 0.5
    assert normal_cdf(1.959964) == pytest.approx(0.975, abs=1e-7)
    assert normal_cdf(-2.326348) == pytest.approx(0.01, abs=1e-7)
    assert normal_sf(3.090232) == pytest.approx(0.001, abs=1e-8)
    assert normal_sf(10.0) == pytest.approx(7.619853e-24, rel=1e-5)


# ---------------------------------------------------------------- Diebold-Mariano


def test_dm_identical_errors_and_small_samples():
    e = np.array([0.1, -0.2, 0.3, 0.05])
    assert diebold_mariano(e, e) == (0.0, 1.0)
    with pytest.raises(ValueError, match="at least 3"):
        diebold_mariano([0.1, 0.2], [0.3, 0.1])
    with pytest.raises(ValueError, match="h"):
        diebold_mariano(e, e + 1, h=4)
    with pytest.raises(ValueError, match="loss"):
        diebold_mariano(e, e + 1, loss="huber")


def test_dm_matches_direct_formula_h2():
    rng = np.random.default_rng(3)
    e1, e2 = rng.normal(size=40), rng.normal(size=40)
    d = np.abs(e1) - np.abs(e2)
    n, dc = d.size, d - d.mean()
    g0, g1 = dc @ dc / n, dc[1:] @ dc[:-1] / n
    var = (g0 + 2 * g1) / n
    if var <= 0:  # the Bartlett fallback, weight 1/2 on lag 1
        var = (g0 + g1) / n
    expected = d.mean() / math.sqrt(var) * math.sqrt((n + 1 - 4 + 2 / n) / n)
    stat, p = diebold_mariano(e1, e2, h=2, loss="mae")
    assert stat == pytest.approx(expected)
    assert p == pytest.approx(student_t_cdf(expected, n - 1))


def test_dm_false_positive_rate_near_alpha():
    rejections, ps = 0, []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        _, p = diebold_mariano(rng.normal(size=120), rng.normal(size=120))
        ps.append(p)
        rejections += p < 0.05
    assert 0.01 <= rejections / 200 <= 0.10
    assert 0.4 < np.mean(ps) < 0.6  # roughly uniform under H0


def test_dm_detects_clearly_better_model_one_sided():
    rng = np.random.default_rng(11)
    noise = rng.normal(size=300)
    model, baseline = 0.6 * noise + 0.1 * rng.normal(size=300), noise
    stat, p = diebold_mariano(model, baseline)
    assert stat < 0 and p < 0.01
    _, p_reversed = diebold_mariano(baseline, model)  # H1 is "first argument better": now false
    assert p_reversed > 0.99


def test_dm_constant_differential():
    e = np.array([0.1, 0.2, 0.3, 0.4])
    stat, p = diebold_mariano(np.zeros(4), np.full(4, 0.5))  # model loss always 0.25 lower
    assert stat == -math.inf and p == 0.0
    assert diebold_mariano(np.full(4, 0.5), np.zeros(4)) == (math.inf, 1.0)
    assert 0.0 <= diebold_mariano(e, e[::-1], h=3)[1] <= 1.0


# ---------------------------------------------------------------- Pesaran-Timmermann


def test_pt_hand_computed():
    # py = 1/2, px = 3/4, hit = 3/4, P* = 1/2; Var(P) = 1/16, Var(P*) = 1/64 + 3/256 -> sd 0.1875
    stat, p = pesaran_timmermann([1, 1, -1, -1], [1, 1, -1, 1])
    assert stat == pytest.approx(0.25 / 0.1875)
    assert p == pytest.approx(normal_sf(0.25 / 0.1875))


def test_pt_random_predictions_not_significant():
    ps = []
    for seed in range(200):
        rng = np.random.default_rng(1000 + seed)
        ps.append(pesaran_timmermann(rng.normal(size=400), rng.normal(size=400))[1])
    ps = np.array(ps)
    assert 0.01 <= np.mean(ps < 0.05) <= 0.10
    assert 0.4 < ps.mean() < 0.6


def test_pt_sixty_percent_hit_rate_is_significant():
    rng = np.random.default_rng(5)
    y = rng.normal(size=2000)
    pred = np.sign(y) * rng.uniform(0.1, 1.0, size=2000)
    pred[rng.choice(2000, size=800, replace=False)] *= -1  # exactly 60% hits
    assert forecast_metrics(y, pred)["directional_accuracy"] == pytest.approx(0.6)
    stat, p = pesaran_timmermann(y, pred)
    assert stat > 0 and p < 0.001


def test_pt_degenerate_cases():
    assert pesaran_timmermann([0.1, -0.2, 0.3], [1.0, 1.0, 1.0]) == (0.0, 1.0)  # calls all one sign
    assert pesaran_timmermann([0.1, 0.2, 0.3], [1.0, -1.0, 1.0]) == (0.0, 1.0)  # outcomes all one sign
    assert pesaran_timmermann([0.1, -0.2], [0.0, 0.0]) == (0.0, 1.0)  # no call made


# ---------------------------------------------------------------- trading view

R = np.array([0.01, -0.02, 0.03, 0.0, -0.01])  # simple returns of the 5 bars
LOG_R = np.log1p(R)
PRED = np.array([0.5, -0.1, -0.2, 0.0, 0.3])


def test_positions():
    assert positions_from_forecast(PRED).tolist() == [1, -1, -1, 0, 1]
    assert positions_from_forecast(PRED, allow_short=False).tolist() == [1, 0, 0, 0, 1]


def test_trading_view_hand_computed_5_bars():
    view = trading_view(LOG_R, PRED, costs_bps=(0, 10))
    assert set(view) == {"0", "10"}
    # long/short: positions 1,-1,-1,0,1 -> turnover 1,2,0,1,1
    ls0, ls10 = view["0"]["long_short"], view["10"]["long_short"]
    gross = 1.01 * 1.02 * 0.97 * 1.00 * 0.99
    assert ls0["turnover"] == ls10["turnover"] == 5
    assert ls0["total_return"] == pytest.approx(gross - 1)
    assert ls10["total_return"] == pytest.approx(gross * 0.999 * 0.998 * 1.0 * 0.999 * 0.999 - 1)
    assert ls10["log_return"] == pytest.approx(math.log(gross * 0.999**3 * 0.998))
    net = np.array([0.01, 0.02, -0.03, 0.0, -0.01])
    assert ls0["sharpe"] == pytest.approx(net.mean() / net.std(ddof=1) * math.sqrt(252))
    # long only: positions 1,0,0,0,1 -> turnover 1,1,0,0,1
    lo0, lo10 = view["0"]["long_only"], view["10"]["long_only"]
    assert lo0["turnover"] == 3
    assert lo0["total_return"] == pytest.approx(1.01 * 0.99 - 1)
    assert lo10["total_return"] == pytest.approx(0.999 * 1.01 * 0.999 * 0.999 * 0.99 - 1)


def test_buy_and_hold_pays_one_entry_cost():
    view = trading_view(LOG_R, PRED, costs_bps=(0, 10, 20))
    for bps in (0, 10, 20):
        bh = view[f"{bps:g}"]["buy_and_hold"]
        assert bh["turnover"] == 1
        assert bh["total_return"] == pytest.approx((1 - bps / 1e4) * math.exp(LOG_R.sum()) - 1)


def test_trading_view_flat_book_and_bad_input():
    view = trading_view(LOG_R, np.zeros(5), costs_bps=(5,))
    flat = view["5"]["long_short"]
    assert flat["total_return"] == 0.0 and flat["turnover"] == 0 and flat["sharpe"] is None
    assert "2.5" in trading_view(LOG_R, PRED, costs_bps=(2.5,))
    with pytest.raises(ValueError):
        trading_view(LOG_R, PRED, costs_bps=(-1,))
