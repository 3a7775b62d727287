"""Sentiment features per decision time, strictly causal (docs/architecture.md, invariant 1).

For a decision at time t the features see the headlines with ``t - lookback < published_at <= t``:
a headline published one second after t never counts at t, one published exactly at t does, and
one exactly ``lookback`` old has just dropped out.

| column | meaning (0 when the window holds no such headline: no news is a state, never NaN) |
|---|---|
| ``sent_mean`` | decayed mean score of the symbol's *scored* headlines (weights below) |
| ``sent_count`` | the symbol's headlines in the window, *scored or not*: news volume is information |
| ``sent_pos_share`` | share of positive labels among the symbol's scored headlines |
| ``sent_neg_share`` | share of negative labels among the symbol's scored headlines |
| ``market_sent`` | decayed mean score of the market-wide headlines (``symbols == ()``) |
| ``market_count`` | market-wide headlines in the window, scored or not |

A headline of age a hours weighs ``0.5 ** (a / half_life_hours)``. An unscored headline (the
scorer failed on it) has no score, so it counts in the counts only.

A headline about several symbols counts for each of them. Cost: O((H + T) log H) per symbol for H
headlines and T decision times, with no Python loop over either.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from bot.config import SentimentConfig
from bot.news.base import Headline

FEATURE_COLUMNS: tuple[str, ...] = (
    "sent_mean",
    "sent_count",
    "sent_pos_share",
    "sent_neg_share",
    "market_sent",
    "market_count",
)

_HOUR_NS = 3_600_000_000_000
# Half-lives spanned by one block of the decayed cumulative sum: 2**600 stays far from overflow.
_BLOCK_HALF_LIVES = 600.0


def sentiment_features(
    headlines: Sequence[Headline],
    decision_times: pd.DatetimeIndex | Sequence[datetime],
    symbols: Sequence[str],
    config: SentimentConfig,
) -> dict[str, pd.DataFrame]:
    """One frame per symbol, index = ``decision_times`` (tz-aware, converted to UTC), columns
    ``FEATURE_COLUMNS``; see the module docstring. Headlines may come in any order."""
    times = pd.DatetimeIndex(decision_times)
    if times.tz is None:
        raise ValueError("decision_times must be timezone-aware")
    times = times.tz_convert("UTC").as_unit("ns").rename("ts")
    t = times.asi8
    lookback = int(round(config.lookback_hours * _HOUR_NS))
    half_life = config.half_life_hours * _HOUR_NS

    published = _published_ns(headlines)
    score = np.array([np.nan if h.score is None else h.score for h in headlines], dtype="float64")
    positive = np.array([h.label == "positive" for h in headlines], dtype=bool)
    negative = np.array([h.label == "negative" for h in headlines], dtype=bool)
    members: dict[str, list[int]] = {s: [] for s in symbols}
    market: list[int] = []
    for i, h in enumerate(headlines):
        if not h.symbols:
            market.append(i)
        for s in h.symbols:
            if s in members:
                members[s].append(i)

    def stats(rows: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        idx = np.asarray(rows, dtype="int64")
        return _window_stats(published[idx], score[idx], positive[idx], negative[idx], t, lookback, half_life)

    market_mean, market_count, _, _ = stats(market)
    out = {}
    for symbol, rows in members.items():
        mean, count, pos, neg = stats(rows)
        out[symbol] = pd.DataFrame(
            {
                "sent_mean": mean,
                "sent_count": count,
                "sent_pos_share": pos,
                "sent_neg_share": neg,
                "market_sent": market_mean,
                "market_count": market_count,
            },
            index=times,
        )
    return out


def _published_ns(headlines: Sequence[Headline]) -> np.ndarray:
    if not headlines:
        return np.array([], dtype="int64")
    return pd.to_datetime([h.published_at for h in headlines], utc=True).as_unit("ns").asi8


def _window_stats(
    published: np.ndarray,
    score: np.ndarray,
    positive: np.ndarray,
    negative: np.ndarray,
    t: np.ndarray,
    lookback: int,
    half_life: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(decayed mean, count, positive share, negative share) at each time in ``t``."""
    n = len(t)
    mean, pos_share, neg_share = np.zeros(n), np.zeros(n), np.zeros(n)
    if len(published) == 0:
        return mean, np.zeros(n, dtype="int64"), pos_share, neg_share
    order = np.argsort(published, kind="stable")
    published, score = published[order], score[order]
    scored = ~np.isnan(score)
    positive, negative = positive[order] & scored, negative[order] & scored
    hi = np.searchsorted(published, t, side="right")  # window = rows lo .. hi-1
    lo = np.searchsorted(published, t - lookback, side="right")
    count = (hi - lo).astype("int64")

    def in_window(flags: np.ndarray) -> np.ndarray:
        cumulative = np.concatenate(([0], np.cumsum(flags, dtype="int64")))
        return cumulative[hi] - cumulative[lo]

    n_scored = in_window(scored)
    has = n_scored > 0
    pos_share[has] = in_window(positive)[has] / n_scored[has]
    neg_share[has] = in_window(negative)[has] / n_scored[has]

    # Decayed sums at each headline's own time; the window's sum is the sum at its newest scored
    # row j minus the sum at row k = lo - 1 decayed from t_k to t_j. Weights relative to t_j
    # instead of t scale numerator and denominator alike, so the mean is unchanged, row j weighs 1
    # (the denominator is >= 1) and nothing overflows.
    u = (published - published[0]) / half_life  # time in half-lives
    weighted = _decayed_cumsum(u, np.where(scored, score, 0.0))
    weights = _decayed_cumsum(u, scored.astype("float64"))
    last_scored = np.maximum.accumulate(np.where(scored, np.arange(len(u)), -1))
    j, k = last_scored[hi[has] - 1], lo[has] - 1
    before = k >= 0
    decay = np.where(before, np.exp2(-(u[j] - u[np.maximum(k, 0)])), 0.0)
    numerator = weighted[j] - decay * np.where(before, weighted[np.maximum(k, 0)], 0.0)
    denominator = weights[j] - decay * np.where(before, weights[np.maximum(k, 0)], 0.0)
    mean[has] = numerator / denominator
    return mean, count, pos_share, neg_share


def _decayed_cumsum(u: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``y[j] = sum(values[i] * 2 ** -(u[j] - u[i]) for i <= j)`` for non-decreasing ``u``.

    Computed as a plain cumulative sum of ``values * 2 ** u`` within blocks that span at most
    ``_BLOCK_HALF_LIVES`` (so ``2 ** u`` cannot overflow), the previous block's last sum carried in.
    """
    out = np.empty(len(u))
    start, carry, carry_u = 0, 0.0, 0.0
    while start < len(u):
        stop = int(np.searchsorted(u, u[start] + _BLOCK_HALF_LIVES, side="right"))
        rel = u[start:stop] - u[start]
        grow = np.exp2(rel)
        block = np.cumsum(values[start:stop] * grow) / grow
        block += carry * np.exp2(-(u[start:stop] - carry_u))
        out[start:stop] = block
        carry, carry_u, start = block[-1], u[stop - 1], stop
    return out
