"""Sentiment features: no look-ahead, the decayed mean by hand, windows, and a slow reference."""

from __future__ import annotations

import itertools
import math
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from bot.calendar.timeframes import TIMEFRAMES
from bot.config import SentimentConfig
from bot.news.base import Headline
from bot.news.features import FEATURE_COLUMNS, sentiment_features

CONFIG = SentimentConfig(lookback_hours=72.0, half_life_hours=24.0)
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)
_ids = itertools.count()


def headline(published: datetime, score: float | None, symbols: tuple[str, ...] = ("ACME",)) -> Headline:
    """A scored headline (None: one the scorer could not score), labelled with thresholds +-0.05."""
    n = next(_ids)
    label = None
    if score is not None:
        label = "positive" if score >= 0.05 else "negative" if score <= -0.05 else "neutral"
    return Headline(
        "test",
        f"g{n}",
        f"headline {n}",
        published,
        published,
        symbols=symbols,
        score=score,
        label=label,
        scorer_version=None if score is None else "v",
    )


def daily_closes(first: str, sessions: int) -> list[datetime]:
    starts = pd.bdate_range(first, periods=sessions, tz="America/New_York").tz_convert("UTC")
    return [TIMEFRAMES["1Day"].close_time(t.to_pydatetime()) for t in starts]


CLOSES = daily_closes("2022-03-01", 6)  # Tue..Fri, then Mon 7 and Tue 8 March (after a weekend)


def row(frames: dict, symbol: str, when: datetime) -> pd.Series:
    return frames[symbol].loc[pd.Timestamp(when)]


# ------------------------------------------------------------------------------ no look-ahead


def test_a_headline_one_second_after_a_close_never_changes_that_bar_but_changes_the_next():
    base = [headline(CLOSES[1] - 5 * HOUR, 0.6)]
    late = headline(CLOSES[2] + SECOND, -0.9)
    without = sentiment_features(base, CLOSES, ["ACME"], CONFIG)["ACME"]
    with_late = sentiment_features(base + [late], CLOSES, ["ACME"], CONFIG)["ACME"]
    pd.testing.assert_frame_equal(with_late.iloc[:3], without.iloc[:3])  # up to and including CLOSES[2]
    next_bar = pd.Timestamp(CLOSES[3])
    assert with_late.loc[next_bar, "sent_count"] == 2
    assert with_late.loc[next_bar, "sent_mean"] < without.loc[next_bar, "sent_mean"]

    market_late = headline(CLOSES[2] + SECOND, -0.9, symbols=())
    market = sentiment_features(base + [market_late], CLOSES, ["ACME"], CONFIG)["ACME"]
    assert market["market_count"].tolist() == [0, 0, 0, 1, 0, 0]  # Monday's close is 96 h on: out


def test_a_headline_published_exactly_at_the_close_counts():
    at_close = headline(CLOSES[2], 0.7)
    frame = sentiment_features([at_close], CLOSES, ["ACME"], CONFIG)["ACME"]
    assert frame["sent_count"].tolist() == [0, 0, 1, 1, 0, 0]  # Thursday's close, seen again on Friday
    assert frame.loc[pd.Timestamp(CLOSES[2]), "sent_mean"] == pytest.approx(0.7)


def test_features_at_t_depend_only_on_headlines_published_by_t():
    rng = np.random.default_rng(3)
    news = random_headlines(rng, 300, CLOSES[0] - 100 * HOUR, CLOSES[-1] + 50 * HOUR)
    full = sentiment_features(news, CLOSES, ["ACME", "GLBX"], CONFIG)
    for t in CLOSES:
        seen = [h for h in news if h.published_at <= t]
        alone = sentiment_features(seen, [t], ["ACME", "GLBX"], CONFIG)
        for symbol in ("ACME", "GLBX"):
            pd.testing.assert_series_equal(row(full, symbol, t), row(alone, symbol, t))


# ------------------------------------------------------------------------------ values


def test_decayed_mean_by_hand():
    t = CLOSES[3]
    news = [headline(t, 0.8), headline(t - 24 * HOUR, -0.4), headline(t - 48 * HOUR, 0.2)]
    got = row(sentiment_features(news, [t], ["ACME"], CONFIG), "ACME", t)
    # weights 1, 1/2, 1/4 (ages 0, 1 and 2 half-lives)
    assert got["sent_mean"] == pytest.approx((0.8 * 1 - 0.4 * 0.5 + 0.2 * 0.25) / 1.75, abs=1e-12)
    assert got["sent_count"] == 3
    assert got["sent_pos_share"] == pytest.approx(2 / 3) and got["sent_neg_share"] == pytest.approx(1 / 3)

    two = [headline(t - 6 * HOUR, 0.5), headline(t - 18 * HOUR, -1.0)]
    w1, w2 = 0.5 ** (6 / 24), 0.5 ** (18 / 24)
    got = row(sentiment_features(two, [t], ["ACME"], CONFIG), "ACME", t)
    assert got["sent_mean"] == pytest.approx((0.5 * w1 - 1.0 * w2) / (w1 + w2), abs=1e-12)


def test_lookback_boundary_is_exclusive_of_the_oldest_instant():
    t = CLOSES[4]
    just_out = headline(t - 72 * HOUR, 0.9)
    just_in = headline(t - 72 * HOUR + SECOND, -0.3)
    got = row(sentiment_features([just_out, just_in], [t], ["ACME"], CONFIG), "ACME", t)
    assert got["sent_count"] == 1 and got["sent_mean"] == pytest.approx(-0.3)
    short = SentimentConfig(lookback_hours=1.0, half_life_hours=24.0)
    assert row(sentiment_features([just_in], [t], ["ACME"], short), "ACME", t)["sent_count"] == 0


def test_market_wide_and_per_symbol_headlines_go_to_their_own_columns():
    t = CLOSES[2]
    news = [
        headline(t - HOUR, 0.5, ("ACME",)),
        headline(t - HOUR, -0.5, ()),
        headline(t - 2 * HOUR, 0.3, ("ACME", "GLBX")),
        headline(t - HOUR, 0.9, ("INIT",)),
    ]
    frames = sentiment_features(news, [t], ["ACME", "GLBX"], CONFIG)
    acme, glbx = row(frames, "ACME", t), row(frames, "GLBX", t)
    assert acme["sent_count"] == 2 and glbx["sent_count"] == 1 and glbx["sent_mean"] == pytest.approx(0.3)
    for r in (acme, glbx):
        assert r["market_count"] == 1 and r["market_sent"] == pytest.approx(-0.5)
    assert set(frames) == {"ACME", "GLBX"}


def test_no_news_is_count_zero_and_zeros_never_nan():
    for news in ([], [headline(CLOSES[0] - 500 * HOUR, 0.5)], [headline(CLOSES[0], 0.5, ("INIT",))]):
        frames = sentiment_features(news, CLOSES, ["ACME", "GLBX"], CONFIG)
        for frame in frames.values():
            assert list(frame.columns) == list(FEATURE_COLUMNS)
            assert not frame.isna().any().any() and (frame.to_numpy() == 0).all()
            assert frame.index.equals(pd.DatetimeIndex(CLOSES, name="ts").as_unit("ns"))


def test_unscored_headlines_count_but_carry_no_score():
    t = CLOSES[2]
    only_unscored = row(sentiment_features([headline(t - HOUR, None)], [t], ["ACME"], CONFIG), "ACME", t)
    assert only_unscored["sent_count"] == 1
    assert (only_unscored[["sent_mean", "sent_pos_share", "sent_neg_share"]] == 0).all()
    mixed = [headline(t - 30 * HOUR, -0.6), headline(t - HOUR, None)]
    got = row(sentiment_features(mixed, [t], ["ACME"], CONFIG), "ACME", t)
    assert got["sent_count"] == 2 and got["sent_mean"] == pytest.approx(-0.6) and got["sent_neg_share"] == 1.0


def test_decision_times_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        sentiment_features([], [datetime(2022, 1, 3, 21)], ["ACME"], CONFIG)


# ------------------------------------------------------------------------------ reference


def random_headlines(rng: np.random.Generator, n: int, start: datetime, end: datetime) -> list[Headline]:
    span = int((end - start).total_seconds())
    choices = [(), ("ACME",), ("GLBX",), ("ACME", "GLBX"), ("INIT",)]
    out = []
    for _ in range(n):
        when = start + timedelta(seconds=int(rng.integers(0, span)))
        score = None if rng.random() < 0.1 else float(np.round(rng.uniform(-1, 1), 3))
        out.append(headline(when, score, choices[int(rng.integers(0, len(choices)))]))
    return out


def reference(news: list[Headline], t: datetime, symbol: str, config: SentimentConfig) -> dict[str, float]:
    """Obviously correct, slow: one pass over every headline per (time, symbol)."""

    def stats(keep) -> tuple[float, int, float, float]:
        oldest = t - timedelta(hours=config.lookback_hours)
        window = [h for h in news if oldest < h.published_at <= t and keep(h)]
        scored = [h for h in window if h.score is not None]
        if not scored:
            return 0.0, len(window), 0.0, 0.0
        ages = [(t - h.published_at).total_seconds() / 3600 for h in scored]
        weights = [0.5 ** (age / config.half_life_hours) for age in ages]
        mean = sum(w * h.score for w, h in zip(weights, scored)) / sum(weights)
        pos = sum(h.label == "positive" for h in scored) / len(scored)
        neg = sum(h.label == "negative" for h in scored) / len(scored)
        return mean, len(window), pos, neg

    mean, count, pos, neg = stats(lambda h: symbol in h.symbols)
    market_mean, market_count, _, _ = stats(lambda h: h.symbols == ())
    return {
        "sent_mean": mean,
        "sent_count": count,
        "sent_pos_share": pos,
        "sent_neg_share": neg,
        "market_sent": market_mean,
        "market_count": market_count,
    }


@pytest.mark.parametrize(
    "config",
    [
        CONFIG,
        SentimentConfig(lookback_hours=6.0, half_life_hours=1.5),
        SentimentConfig(lookback_hours=48.0, half_life_hours=0.25),
    ],  # many overflow-safe blocks
)
def test_features_equal_a_slow_reference_on_random_data(config):
    rng = np.random.default_rng(11)
    start = datetime(2021, 1, 1, tzinfo=UTC)
    news = random_headlines(rng, 400, start, start + timedelta(days=200))
    times = sorted({start + timedelta(minutes=int(m)) for m in rng.integers(0, 205 * 24 * 60, 150)})
    times += [news[5].published_at, news[7].published_at + SECOND]  # exact hits and near misses
    times = sorted(set(times))
    frames = sentiment_features(news, times, ["ACME", "GLBX"], config)
    for symbol in ("ACME", "GLBX"):
        for t in times:
            want = reference(news, t, symbol, config)
            got = row(frames, symbol, t)
            for column in FEATURE_COLUMNS:
                close = math.isclose(got[column], want[column], rel_tol=1e-9, abs_tol=1e-12)
                assert close, (symbol, t, column, got[column], want[column])


def test_speed_five_symbols_twenty_thousand_times_five_thousand_headlines():
    rng = np.random.default_rng(5)
    symbols = ["S1", "S2", "S3", "S4", "S5"]
    start = datetime(2015, 1, 1, tzinfo=UTC)
    stamps = np.sort(rng.integers(0, 20_000 * 3600, 5000))
    news = [
        headline(
            start + timedelta(seconds=int(s)),
            float(rng.uniform(-1, 1)),
            (symbols[i % 6],) if i % 6 < 5 else (),
        )
        for i, s in enumerate(stamps)
    ]
    times = pd.date_range(start, periods=20_000, freq="1h")
    began = time.perf_counter()
    frames = sentiment_features(news, times, symbols, CONFIG)
    elapsed = time.perf_counter() - began
    assert elapsed < 0.5, f"{elapsed:.3f} s"
    assert sum(int(f["sent_count"].iloc[-1] > 0) for f in frames.values()) > 0
