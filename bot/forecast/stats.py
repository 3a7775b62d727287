"""Out-of-sample forecast statistics: error metrics, significance tests and a trading view.

Pure numpy + ``math`` (no scipy). Conventions shared by every function here:

- ``y_true`` is the realised next-bar **log return**, ``y_pred`` its forecast, aligned bar by bar
  (1-D, same length, finite; anything else raises ``ValueError``).
- A *direction* is the sign of a value. A bar whose true return is exactly 0 has no direction and
  is left out of every directional statistic. A forecast of exactly 0 makes no directional call.
- Undefined statistics are ``None`` (not NaN) so that results serialise to plain JSON.
- p-values are **one-sided** in favour of "the model is better" (lower loss, or better than chance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

ArrayLike = Sequence[float] | np.ndarray


# ---------------------------------------------------------------- distributions


def normal_cdf(x: float) -> float:
    """P(Z <= x) for a standard normal Z."""
    # erfc keeps precision in the lower tail, where 1 + erf(.) would cancel.
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def normal_sf(x: float) -> float:
    """P(Z > x) for a standard normal Z, accurate far in the upper tail."""
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def _beta_cf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta (modified Lentz; Numerical Recipes ``betacf``)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    # Convergence needs O(sqrt(max(a, b))) steps; the cap covers df up to the normal switch-over.
    for m in range(1, 20_000):
        m2 = 2 * m
        even = m * (b - m) * x / ((qam + m2) * (a + m2))
        odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        for aa in (even, odd):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            step = d * c
            h *= step
        if abs(step - 1.0) < eps:
            return h
    raise ArithmeticError(f"incomplete beta did not converge for a={a}, b={b}, x={x}")


def _beta_inc(a: float, b: float, x: float, one_minus_x: float) -> float:
    """Regularised incomplete beta I_x(a, b); ``one_minus_x`` is passed in to avoid cancellation."""
    if x <= 0.0:
        return 0.0
    if one_minus_x <= 0.0:
        return 1.0
    log_gammas = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    front = math.exp(log_gammas + a * math.log(x) + b * math.log(one_minus_x))
    # The fraction converges fast only on this side of the mean; use the symmetry I_x(a,b) = 1 - I_{1-x}(b,a).
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_cf(a, b, x) / a
    return 1.0 - front * _beta_cf(b, a, one_minus_x) / b


def student_t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` > 0 degrees of freedom (non-integer df allowed)."""
    if not df > 0:
        raise ValueError(f"student_t_cdf needs df > 0, got {df}")
    if math.isnan(t):
        return math.nan
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    if df > 1e7:  # indistinguishable from the normal at double precision, and the fraction gets slow
        return normal_cdf(t)
    t2 = t * t
    # P(|T| > |t|) = I_{df/(df+t^2)}(df/2, 1/2)
    two_tail = _beta_inc(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2))
    return 1.0 - 0.5 * two_tail if t > 0 else 0.5 * two_tail


# ---------------------------------------------------------------- helpers


def _pair(a: ArrayLike, b: ArrayLike, names: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.ndim != 1 or y.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"{names} must be 1-D arrays of one length, got shapes {x.shape} and {y.shape}")
    if x.size == 0:
        raise ValueError(f"{names} are empty")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError(f"{names} contain NaN or infinite values")
    return x, y


def _average_ranks(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank (as Spearman's rho requires)."""
    order = np.argsort(a, kind="mergesort")
    s = a[order]
    new_group = np.r_[True, s[1:] != s[:-1]]
    starts = np.flatnonzero(new_group)
    counts = np.diff(np.r_[starts, a.size])
    ranks = np.empty(a.size)
    ranks[order] = (starts + (counts + 1) / 2.0)[np.cumsum(new_group) - 1]
    return ranks


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    rx, ry = _average_ranks(x) - (x.size + 1) / 2.0, _average_ranks(y) - (y.size + 1) / 2.0
    denom = math.sqrt(float(rx @ rx) * float(ry @ ry))
    return None if denom == 0.0 else float(rx @ ry) / denom


# ---------------------------------------------------------------- metrics


def forecast_metrics(y_true: ArrayLike, y_pred: ArrayLike) -> dict:
    """Point and direction metrics of a forecast.

    Returns ``{"rmse", "mae", "directional_accuracy", "ic", "n"}``:

    - ``directional_accuracy``: share of bars with ``y_true != 0`` where ``sign(y_pred) ==
      sign(y_true)``. A forecast of exactly 0 there counts as a **miss** (abstaining is not a
      hit). ``None`` when no bar has a non-zero true return, or when *every* forecast is 0 (e.g.
      the zero-return baseline): such a forecast makes no directional call at all, and neither
      0.0 nor a coin-flip 0.5 would describe it honestly.
    - ``ic``: Spearman rank correlation of forecast and outcome (ties share ranks); ``None`` when
      either series is constant (or n < 2).
    - ``n``: number of bars.
    """
    y, p = _pair(y_true, y_pred, "y_true and y_pred")
    err = p - y
    moved = y != 0
    if moved.any() and (p != 0).any():
        direction: float | None = float(np.mean(np.sign(p[moved]) == np.sign(y[moved])))
    else:
        direction = None
    return {
        "rmse": float(np.sqrt(np.mean(err * err))),
        "mae": float(np.mean(np.abs(err))),
        "directional_accuracy": direction,
        "ic": _spearman(y, p) if y.size >= 2 else None,
        "n": int(y.size),
    }


# ---------------------------------------------------------------- tests


def diebold_mariano(
    e_model: ArrayLike,
    e_baseline: ArrayLike,
    h: int = 1,
    loss: str = "mse",
) -> tuple[float, float]:
    """Diebold-Mariano test of equal predictive accuracy, with the Harvey-Leybourne-Newbold correction.

    ``e_model`` / ``e_baseline`` are forecast errors on the same bars; ``h`` the forecast horizon
    in bars; ``loss`` is ``"mse"`` (squared error) or ``"mae"`` (absolute error).

    - Loss differential ``d_t = L(e_model_t) - L(e_baseline_t)``; the statistic is negative when
      the model's loss is lower.
    - Variance of mean(d): autocovariances up to lag h-1 with the rectangular weights of DM (1995);
      if that estimate is not positive (possible for h > 1) the Bartlett (Newey-West) weights
      ``1 - k/h`` are used instead, which cannot be negative.
    - HLN small-sample factor ``sqrt((n + 1 - 2h + h(h-1)/n) / n)``, compared with Student-t, n-1 df.
    - p-value is one-sided: H0 equal expected loss, **H1 the model's expected loss is lower**;
      ``p = P(T_{n-1} <= statistic)``.

    Degenerate cases: identical losses on every bar -> ``(0.0, 1.0)``; a constant non-zero
    differential -> ``(-inf, 0.0)`` if the model is always better, ``(inf, 1.0)`` if always worse.
    Raises ``ValueError`` for fewer than 3 bars, ``h`` outside ``1..n-1`` or an unknown loss.
    """
    e1, e2 = _pair(e_model, e_baseline, "e_model and e_baseline")
    if loss == "mse":
        return diebold_mariano_losses(e1 * e1, e2 * e2, h)
    if loss == "mae":
        return diebold_mariano_losses(np.abs(e1), np.abs(e2), h)
    raise ValueError(f"diebold_mariano loss must be 'mse' or 'mae', got {loss!r}")


def diebold_mariano_losses(
    loss_model: ArrayLike, loss_baseline: ArrayLike, h: int = 1
) -> tuple[float, float]:
    """``diebold_mariano`` on per-bar losses given directly (e.g. QLIKE of variance forecasts):
    the same differential, variance, HLN factor and one-sided p-value (H1: the model's loss is lower)."""
    l1, l2 = _pair(loss_model, loss_baseline, "loss_model and loss_baseline")
    n = l1.size
    if n < 3:
        raise ValueError(f"diebold_mariano needs at least 3 paired errors, got {n}")
    if not 1 <= h < n:
        raise ValueError(f"diebold_mariano needs 1 <= h < n (n={n}), got h={h}")
    d = l1 - l2
    d_bar = float(d.mean())
    if np.all(d == d[0]):
        if d[0] == 0.0:
            return 0.0, 1.0
        return (-math.inf, 0.0) if d_bar < 0 else (math.inf, 1.0)
    dc = d - d_bar
    gamma = [float(dc[k:] @ dc[: n - k]) / n for k in range(h)]
    var = (gamma[0] + 2.0 * sum(gamma[1:])) / n
    if var <= 0.0:
        var = (gamma[0] + 2.0 * sum((1.0 - k / h) * gamma[k] for k in range(1, h))) / n
    if var <= 0.0:  # only float round-off on an (almost) constant differential gets here
        return 0.0, 1.0
    stat = d_bar / math.sqrt(var) * math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    return float(stat), student_t_cdf(stat, n - 1)


def pesaran_timmermann(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[float, float]:
    """Pesaran-Timmermann (1992) test that forecast directions beat chance.

    Uses only bars where both the outcome and the forecast are non-zero (a move happened and a
    call was made). With ``P`` the hit rate, ``py``/``px`` the shares of up outcomes/calls and
    ``P* = py*px + (1-py)(1-px)`` the hit rate of independent calls,
    ``S = (P - P*) / sqrt(Var(P) - Var(P*))`` is asymptotically N(0, 1) under independence.

    p-value one-sided: **H1 the forecast predicts direction better than chance**, ``p = P(Z > S)``.
    Degenerate cases -> ``(0.0, 1.0)``: no usable bar, all calls of one sign, or all outcomes of
    one sign (the test then has no power to tell skill from a constant bet).
    """
    y, p = _pair(y_true, y_pred, "y_true and y_pred")
    keep = (y != 0) & (p != 0)
    up_y, up_p = y[keep] > 0, p[keep] > 0
    n = int(keep.sum())
    if n == 0:
        return 0.0, 1.0
    py, px = float(up_y.mean()), float(up_p.mean())
    if py in (0.0, 1.0) or px in (0.0, 1.0):
        return 0.0, 1.0
    hit = float(np.mean(up_y == up_p))
    p_star = py * px + (1 - py) * (1 - px)
    var_p = p_star * (1 - p_star) / n
    var_p_star = (
        (2 * py - 1) ** 2 * px * (1 - px) / n
        + (2 * px - 1) ** 2 * py * (1 - py) / n
        + 4 * py * px * (1 - py) * (1 - px) / n**2
    )
    var = var_p - var_p_star
    if var <= 0.0:
        return 0.0, 1.0
    stat = (hit - p_star) / math.sqrt(var)
    return float(stat), normal_sf(stat)


# ---------------------------------------------------------------- trading view


def positions_from_forecast(y_pred: ArrayLike, allow_short: bool = True) -> np.ndarray:
    """Position per bar from a forecast: ``sign(pred)`` in {-1, 0, +1}; long-only maps -1 to 0."""
    pos = np.sign(np.asarray(y_pred, dtype=float))
    return pos if allow_short else np.maximum(pos, 0.0)


def _book(positions: np.ndarray, simple: np.ndarray, bps: float, periods_per_year: float) -> dict:
    previous = np.r_[0.0, positions[:-1]]  # the book starts flat
    turnover = np.abs(positions - previous)
    growth = (1.0 - turnover * bps / 1e4) * (1.0 + positions * simple)
    # A short through a > +100% bar (or costs >= equity) ruins the book: equity floors at 0.
    growth = np.maximum(growth, 0.0)
    net = growth - 1.0
    with np.errstate(divide="ignore"):
        log_return = float(np.sum(np.log(growth)))
    sd = float(np.std(net, ddof=1)) if net.size >= 2 else 0.0
    return {
        "total_return": float(np.prod(growth) - 1.0),
        "log_return": log_return,
        "sharpe": float(np.mean(net)) / sd * math.sqrt(periods_per_year) if sd > 0 else None,
        "turnover": float(turnover.sum()),
        "bars": int(positions.size),
    }


def trading_view(
    y_true_log_returns: ArrayLike,
    y_pred: ArrayLike,
    costs_bps: Sequence[float] = (0, 5, 10, 20),
    periods_per_year: float = 252,
) -> dict:
    """What the forecast would have earned as a naive sign strategy, after costs.

    Bar i's forecast ``y_pred[i]`` sets the position held over bar i, whose log return is
    ``y_true_log_returns[i]`` (the same alignment as the metrics). Per bar, with
    ``R_i = exp(r_i) - 1`` the asset's simple return and ``pos_{-1} = 0`` (start flat):

    - ``turnover_i = |pos_i - pos_{i-1}|`` units (flat->long 1, long->short 2);
    - cost ``c_i = turnover_i * bps / 10_000`` is paid out of equity before the bar;
    - equity grows by ``(1 - c_i) * (1 + pos_i * R_i)`` (the book is re-sized to one unit of
      equity every bar, so a short earns ``-R_i``); no exit cost is charged at the end.

    Per book: ``total_return`` (simple, compounded), ``log_return`` (sum of net log returns),
    ``sharpe`` (mean / sample std of net simple per-bar returns * sqrt(periods_per_year); ``None``
    when the std is 0 or n < 2), ``turnover`` (units traded in total), ``bars``.

    Returns ``{cost_key: {"long_short": book, "long_only": book, "buy_and_hold": book}}`` with
    ``cost_key = f"{bps:g}"`` (e.g. ``"0"``, ``"5"``, ``"2.5"``). ``long_only`` goes flat where the
    forecast is negative (the bot's default, shorting off); ``buy_and_hold`` is always long, so it
    pays exactly one entry cost: ``(1 - c) * exp(sum r) - 1``.
    """
    r, p = _pair(y_true_log_returns, y_pred, "y_true_log_returns and y_pred")
    if not periods_per_year > 0:
        raise ValueError(f"trading_view periods_per_year must be > 0, got {periods_per_year}")
    simple = np.expm1(r)
    books = {
        "long_short": positions_from_forecast(p, allow_short=True),
        "long_only": positions_from_forecast(p, allow_short=False),
        "buy_and_hold": np.ones_like(r),
    }
    out: dict = {}
    for bps in costs_bps:
        if not (math.isfinite(bps) and bps >= 0):
            raise ValueError(f"trading_view costs_bps must be finite and >= 0, got {bps}")
        out[f"{bps:g}"] = {
            name: _book(pos, simple, float(bps), periods_per_year) for name, pos in books.items()
        }
    return out
