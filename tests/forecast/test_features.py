"""Model inputs: hand-computed features, no look-ahead, windows, the scaler and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.config import PRICE_FEATURES, RISK_FEATURES, SENTIMENT_FEATURES
from bot.errors import DataError
from bot.forecast.features import Scaler, bar_features, build_dataset, make_windows, next_returns

ALL_FEATURES = PRICE_FEATURES + SENTIMENT_FEATURES


def make_bars(n: int, seed: int = 0, start: str = "2024-01-02") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = close * np.exp(rng.normal(0, 0.003, n))
    high = np.maximum(open_, close) * np.exp(rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * np.exp(-rng.uniform(0, 0.01, n))
    index = pd.date_range(start, periods=n, freq="D", tz="UTC", name="ts")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": rng.uniform(1e5, 5e5, n)},
        index=index,
    )


def make_sentiment(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = rng.normal(0, 0.3, (n, len(SENTIMENT_FEATURES)))
    data[rng.random(n) < 0.5] = 0.0  # bars without news
    return pd.DataFrame(data, columns=list(SENTIMENT_FEATURES))


def test_hand_computed_features_on_five_bars() -> None:
    index = pd.date_range("2024-01-02", periods=5, freq="D", tz="UTC", name="ts")
    bars = pd.DataFrame(
        {
            "open": [100.0, 105.0, 108.0, 99.0, 101.0],
            "high": [102.0, 111.0, 110.0, 100.0, 121.0],
            "low": [99.0, 104.0, 98.0, 98.0, 100.0],
            "close": [100.0, 110.0, 99.0, 99.5, 120.0],
            "volume": [10.0, 20.0, 30.0, 40.0, 50.0],
        },
        index=index,
    )
    f = bar_features(bars, volume_window=2)
    nan = np.nan
    np.testing.assert_allclose(
        f["ret"], [nan, np.log(110 / 100), np.log(99 / 110), np.log(99.5 / 99), np.log(120 / 99.5)]
    )
    np.testing.assert_allclose(
        f["range"],
        [np.log(102 / 99), np.log(111 / 104), np.log(110 / 98), np.log(100 / 98), np.log(121 / 100)],
    )
    # Mean of the 2 bars ending at t-1: bar t's own volume is not in its baseline.
    np.testing.assert_allclose(f["rel_volume"], [nan, nan, np.log(30 / 15), np.log(40 / 25), np.log(50 / 35)])
    np.testing.assert_allclose(
        next_returns(bars), [np.log(110 / 100), np.log(99 / 110), np.log(99.5 / 99), np.log(120 / 99.5), nan]
    )
    assert list(f.columns) == list(PRICE_FEATURES + RISK_FEATURES)

    sentiment = pd.DataFrame(np.arange(25.0).reshape(5, 5), columns=list(SENTIMENT_FEATURES))
    with_news = bar_features(bars, 2, sentiment)
    assert list(with_news.columns) == list(PRICE_FEATURES + RISK_FEATURES + SENTIMENT_FEATURES)
    np.testing.assert_array_equal(with_news["sent_count"], [1.0, 6.0, 11.0, 16.0, 21.0])  # row i -> bar i


def test_make_windows_shape_and_ends() -> None:
    rows = np.arange(24, dtype=np.float64).reshape(8, 3)  # row r = [3r, 3r+1, 3r+2]
    w = make_windows(rows, 3)
    assert w.shape == (6, 3, 3) and w.dtype == np.float32 and w.flags.c_contiguous
    for i in range(6):
        np.testing.assert_array_equal(w[i], rows[i : i + 3])  # window i ends at row i + 2
        np.testing.assert_array_equal(w[i, -1], rows[i + 2])
    assert make_windows(rows, 8).shape == (1, 8, 3)
    assert make_windows(rows, 9).shape == (0, 9, 3)


@pytest.mark.parametrize("t", [25, 47, 80, 118])
def test_no_look_ahead(t: int) -> None:
    """Changing every bar (and every sentiment row) after t never changes anything ending at t or before."""
    n, window, vw = 120, 10, 12
    bars, sentiment = make_bars(n), make_sentiment(n)
    rng = np.random.default_rng(t)
    future = bars.copy()
    factor = np.exp(rng.normal(0, 0.05, (n - t - 1, 1)))
    future.iloc[t + 1 :, :4] = bars.iloc[t + 1 :, :4].to_numpy() * factor  # keeps low <= open, close <= high
    future.iloc[t + 1 :, 4] = rng.uniform(1e3, 1e7, n - t - 1)
    future_sent = sentiment.copy()
    future_sent.iloc[t + 1 :] = rng.normal(0, 1, (n - t - 1, len(SENTIMENT_FEATURES)))

    before, after = bar_features(bars, vw, sentiment), bar_features(future, vw, future_sent)
    np.testing.assert_array_equal(before.iloc[: t + 1].to_numpy(), after.iloc[: t + 1].to_numpy())
    assert not np.allclose(before.iloc[t + 1 :, :3].to_numpy(), after.iloc[t + 1 :, :3].to_numpy())

    a = build_dataset({"X": bars}, ALL_FEATURES, window, vw, {"X": sentiment})
    b = build_dataset({"X": future}, ALL_FEATURES, window, vw, {"X": future_sent})
    past_a, past_b = a.take(a.position <= t), b.take(b.position <= t)
    assert len(past_a) == t - (vw + window - 1) + 1  # first full window ends at vw + window - 1
    np.testing.assert_array_equal(past_a.X, past_b.X)
    np.testing.assert_array_equal(past_a.recent_returns, past_b.recent_returns)
    np.testing.assert_array_equal(past_a.y[:-1], past_b.y[:-1])  # only y at t sees bar t+1: the target

    # A scaler fitted on the training prefix makes identical scaled inputs whatever the future holds...
    scaler_a = Scaler.fit(past_a.decision_rows, ALL_FEATURES)
    scaler_b = Scaler.fit(past_b.decision_rows, ALL_FEATURES)
    np.testing.assert_array_equal(scaler_a.transform(past_a.X), scaler_b.transform(past_b.X))
    # ...while one fitted on all rows would carry the future into the past's inputs.
    everything = Scaler.fit(b.decision_rows)
    assert not np.allclose(everything.mean, scaler_b.mean) or not np.allclose(everything.std, scaler_b.std)


def test_dataset_rows_match_their_symbol_and_time_order() -> None:
    frames = {"AAA": make_bars(80, seed=1), "BBB": make_bars(60, seed=2, start="2024-01-20")}
    ds = build_dataset(frames, PRICE_FEATURES, 5, 10)
    assert (np.diff(ds.ts.asi8) >= 0).all()  # ordered by decision time
    assert ds.labelled.sum() == len(ds) - 2  # each symbol's last bar: inference only
    assert set(ds.symbols[~ds.labelled]) == {"AAA", "BBB"}
    assert np.isnan(ds.y[~ds.labelled]).all()
    for symbol, bars in frames.items():
        feats = bar_features(bars, 10)[list(PRICE_FEATURES)].to_numpy()
        windows = make_windows(feats, 5)
        part = ds.take(ds.symbols == symbol)
        assert part.position[0] == 10 + 5 - 1 and part.position[-1] == len(bars) - 1
        np.testing.assert_array_equal(part.X, windows[part.position - 4])  # never crosses symbols
        assert (part.ts == bars.index[part.position]).all()
        np.testing.assert_allclose(part.recent_returns, feats[part.position[:, None] + np.arange(-4, 1), 0])
        np.testing.assert_allclose(part.y[:-1], feats[part.position[:-1] + 1, 0])  # y = next bar's ret


def test_scaler_zero_spread_and_round_trip() -> None:
    rows = np.column_stack([np.arange(10.0), np.full(10, 0.1)])  # second column constant
    scaler = Scaler.fit(rows, ("ret", "sent_count"))
    assert scaler.std[1] == 1.0
    scaled = scaler.transform(rows)
    assert scaled.dtype == np.float32 and np.allclose(scaled[:, 1], 0.0)
    np.testing.assert_allclose(scaled[:, 0].mean(), 0.0, atol=1e-6)
    back = Scaler.from_dict(scaler.to_dict())
    np.testing.assert_array_equal(back.mean, scaler.mean)
    assert back.features == ("ret", "sent_count")
    with pytest.raises(ValueError, match="NaN"):
        Scaler.fit(np.array([[np.nan, 1.0]]))


def test_nan_and_infinite_bars_are_rejected() -> None:
    bars = make_bars(60)
    bars.iloc[17, bars.columns.get_loc("close")] = np.nan
    with pytest.raises(DataError, match=r"AAA: bars have NaN or infinite values in column 'close' .*row 17"):
        build_dataset({"AAA": bars}, PRICE_FEATURES, 5, 5)
    bars = make_bars(60)
    bars.iloc[3, bars.columns.get_loc("volume")] = np.inf
    with pytest.raises(DataError, match="'volume'"):
        build_dataset({"AAA": bars}, PRICE_FEATURES, 5, 5)


def test_constant_prices_are_rejected() -> None:
    bars = make_bars(60)
    bars[["open", "high", "low", "close"]] = 50.0
    with pytest.raises(DataError, match="AAA: the close price never changes over 60 bars"):
        build_dataset({"AAA": bars}, PRICE_FEATURES, 5, 5)


def test_too_few_bars_for_one_window() -> None:
    with pytest.raises(DataError, match=r"AAA: 24 bars are too few for one window: need at least 25"):
        build_dataset({"AAA": make_bars(24)}, PRICE_FEATURES, 5, 20)
    ds = build_dataset({"AAA": make_bars(25)}, PRICE_FEATURES, 5, 20)
    assert len(ds) == 1 and not ds.labelled[0]  # exactly one window: the inference sample


def test_sentiment_problems_are_data_errors() -> None:
    bars = make_bars(40)
    with pytest.raises(DataError, match="AAA: the features ask for sentiment but none was given"):
        build_dataset({"AAA": bars}, ALL_FEATURES, 5, 5)
    with pytest.raises(DataError, match="sentiment has 39 rows but there are 40 bars"):
        build_dataset({"AAA": bars}, ALL_FEATURES, 5, 5, {"AAA": make_sentiment(39)})
    bad = make_sentiment(40)
    bad.iloc[7, 0] = np.nan
    with pytest.raises(DataError, match="row 7"):
        build_dataset({"AAA": bars}, ALL_FEATURES, 5, 5, {"AAA": bad})
