"""Model inputs: per-bar features, the scaler, sliding windows and the training/inference dataset.

Causality contract (docs/architecture.md, invariant 1): every feature of bar t uses only bars at or before t,
so a window ending at t (the decision at t's close) never sees a later bar. Only the *target*
``next_return`` looks one bar ahead, and it is never an input. The ``Scaler`` is fitted by the
caller on training rows only.

No TensorFlow here: the live engine builds inputs without loading it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from bot.config import PRICE_FEATURES, RISK_FEATURES, SENTIMENT_FEATURES
from bot.data.base import BAR_COLUMNS
from bot.errors import ConfigError, DataError
from bot.forecast.range_variance import HAR_LAGS, garman_klass, har_features, next_variance, trailing_mean
from bot.forecast.vol_baselines import ewma_forecast

# Below this a standard deviation is rounding noise of a constant column, not spread.
_MIN_STD = 1e-12


def _check_bars(bars: pd.DataFrame, name: str) -> None:
    """Raise a DataError naming the symbol, column and first bad bar for unusable input."""
    missing = [c for c in BAR_COLUMNS if c not in bars.columns]
    if missing:
        raise DataError(f"{name}: bars lack columns {missing} (need {list(BAR_COLUMNS)})")
    if not isinstance(bars.index, pd.DatetimeIndex) or bars.index.tz is None:
        raise DataError(f"{name}: bars need a timezone-aware UTC DatetimeIndex of bar start times")
    if not (bars.index.is_monotonic_increasing and bars.index.is_unique):
        raise DataError(f"{name}: bar times must be strictly increasing")
    try:
        values = bars[list(BAR_COLUMNS)].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise DataError(f"{name}: bars hold non-numeric values in {list(BAR_COLUMNS)}") from None
    problems = (
        (~np.isfinite(values), "NaN or infinite values"),
        (values <= 0, "non-positive prices or volume"),
    )
    for bad, what in problems:
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise DataError(
                f"{name}: bars have {what} in column {BAR_COLUMNS[col]!r} at {bars.index[row]} "
                f"(row {row}); clean the data before training or predicting"
            )
    if (bars["high"].to_numpy() < bars["low"].to_numpy()).any():
        row = int(np.argmax(bars["high"].to_numpy() < bars["low"].to_numpy()))
        raise DataError(f"{name}: high < low at {bars.index[row]} (row {row})")


def price_features(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    volume_window: int,
) -> dict[str, np.ndarray]:
    """The price and risk features of ``bar_features`` from plain arrays (the one implementation
    both the batch path and the live path use); undefined rows are NaN."""
    ret = np.concatenate([[np.nan], np.diff(np.log(close))])
    prefix = np.concatenate([[0.0], np.cumsum(volume)])
    baseline = np.full(len(volume), np.nan)
    if len(volume) > volume_window:
        # mean of the volume_window bars *before* t, from prefix sums: later bars never enter it
        baseline[volume_window:] = (prefix[volume_window:-1] - prefix[: -volume_window - 1]) / volume_window
    out = {"ret": ret, "range": np.log(high / low), "rel_volume": np.log(volume / baseline)}
    return out | har_features(garman_klass(open_, high, low, close))


def bar_features(
    bars: pd.DataFrame,
    volume_window: int,
    sentiment: pd.DataFrame | None = None,
    *,
    name: str = "bars",
) -> pd.DataFrame:
    """Per-bar features indexed like ``bars``; rows whose features are undefined hold NaN.

    - ``ret`` = log(close_t / close_{t-1})  (NaN for the first bar)
    - ``range`` = log(high_t / low_t)
    - ``rel_volume`` = log(volume_t / mean(volume_{t-volume_window} .. volume_{t-1}))
      (NaN for the first ``volume_window`` bars). The baseline *excludes* bar t so that a volume
      spike is measured against a purely past baseline instead of partly against itself.
    - ``log_rv``, ``log_rv_w``, ``log_rv_m``: logs of the mean Garman-Klass range variance of the
      last 1, 5 and 22 bars (``bot.forecast.range_variance``; NaN until 22 bars exist).
    - with ``sentiment``: its columns ``SENTIMENT_FEATURES``, aligned by row position (row i is
      the sentiment known at bar i's close; the news features' index is close times while bars are
      indexed by start times, so labels cannot be matched). It must have ``len(bars)`` rows and be
      finite (zeros mean no news).
    """
    if volume_window < 1:
        raise ConfigError(f"model.volume_window: expected a whole number >= 1, got {volume_window!r}")
    _check_bars(bars, name)
    price = price_features(
        bars["open"].to_numpy(dtype=np.float64),
        bars["high"].to_numpy(dtype=np.float64),
        bars["low"].to_numpy(dtype=np.float64),
        bars["close"].to_numpy(dtype=np.float64),
        bars["volume"].to_numpy(dtype=np.float64),
        volume_window,
    )
    out = pd.DataFrame(price, index=bars.index)
    if sentiment is not None:
        missing = [c for c in SENTIMENT_FEATURES if c not in sentiment.columns]
        if missing:
            raise DataError(f"{name}: sentiment features lack columns {missing}")
        if len(sentiment) != len(bars):
            raise DataError(
                f"{name}: sentiment has {len(sentiment)} rows but there are {len(bars)} bars "
                "(one sentiment row per bar close is expected)"
            )
        sent = sentiment[list(SENTIMENT_FEATURES)].to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.isfinite(sent).all():
            row = int(np.argwhere(~np.isfinite(sent))[0][0])
            raise DataError(f"{name}: sentiment features are NaN or infinite at row {row} (0 means no news)")
        for j, column in enumerate(SENTIMENT_FEATURES):
            out[column] = sent[:, j]
    return out


def next_returns(bars: pd.DataFrame) -> pd.Series:
    """The target: log(close_{t+1} / close_t), NaN for the last bar (its future is unknown)."""
    close = np.log(bars["close"].to_numpy(dtype=np.float64))
    return pd.Series(np.append(np.diff(close), np.nan), index=bars.index, name="next_return")


@dataclass(frozen=True, eq=False)
class Scaler:
    """Per-feature standardisation ``(x - mean) / std``, fitted on training rows only.

    A feature whose spread is zero (e.g. ``sent_count`` when no headline ever arrived) gets std 1
    instead of 0: it then maps to 0 everywhere instead of dividing by zero.
    """

    mean: np.ndarray
    std: np.ndarray
    features: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        mean = np.array(self.mean, dtype=np.float64).reshape(-1)
        std = np.array(self.std, dtype=np.float64).reshape(-1)
        if mean.shape != std.shape or (self.features and len(self.features) != len(mean)):
            raise ValueError("scaler mean, std and features must have one entry per feature")
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise ValueError("scaler mean/std must be finite and std > 0")
        mean.setflags(write=False)
        std.setflags(write=False)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        object.__setattr__(self, "features", tuple(self.features))

    @classmethod
    def fit(cls, matrix: np.ndarray, features: Sequence[str] = ()) -> Scaler:
        """Fit on a (rows, F) matrix of TRAINING rows (e.g. ``Dataset.decision_rows`` of the train part)."""
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim != 2 or len(m) == 0:
            raise ValueError(f"Scaler.fit needs a non-empty (rows, features) matrix, got shape {m.shape}")
        if not np.isfinite(m).all():
            raise ValueError("Scaler.fit got NaN or infinite values: drop undefined rows first")
        std = m.std(axis=0)
        return cls(m.mean(axis=0), np.where(std < _MIN_STD, 1.0, std), tuple(features))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Scale any array whose last axis is the features; returns float32."""
        a = np.asarray(x, dtype=np.float64)
        if a.shape[-1] != len(self.mean):
            raise ValueError(f"scaler has {len(self.mean)} features, input has {a.shape[-1]}")
        return ((a - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict:
        return {"features": list(self.features), "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: Mapping) -> Scaler:
        return cls(np.asarray(data["mean"]), np.asarray(data["std"]), tuple(data.get("features", ())))


def make_windows(features: np.ndarray, window: int) -> np.ndarray:
    """(T, F) -> (T - window + 1, window, F) float32; window i covers rows i .. i + window - 1.

    Fewer than ``window`` rows give an empty (0, window, F) array.
    """
    a = np.asarray(features)
    if a.ndim != 2 or window < 1:
        raise ValueError(f"make_windows needs a (T, F) array and window >= 1, got {a.shape} and {window}")
    if len(a) < window:
        return np.empty((0, window, a.shape[1]), dtype=np.float32)
    view = sliding_window_view(a, window, axis=0)  # (T - window + 1, F, window)
    return np.ascontiguousarray(view.transpose(0, 2, 1), dtype=np.float32)


@dataclass(frozen=True, eq=False)
class Dataset:
    """Windows and targets of one or more symbols, ordered by decision time, then symbol.

    Sample k is the decision at the close of bar ``position[k]`` (start time ``ts[k]``) of
    ``symbols[k]``. ``X`` is unscaled; ``y`` is the next log return, NaN when the next bar is not
    known yet (``labelled`` False: usable for inference only). Windows never cross symbols.
    ``y_var`` is the risk head's target, the next bar's range variance (NaN where ``y`` is).
    ``har`` (levels of the 1-, 5- and 22-bar mean range variance at the decision bar),
    ``ewma_rv`` (EWMA of the range variance) and ``ewma_ret`` (RiskMetrics EWMA of squared
    returns) are the risk baselines' causal inputs; ``returns`` maps each symbol to its whole
    log-return series (for GARCH, which filters the series itself; row = bar position).
    """

    X: np.ndarray  # (n, window, F) float32, unscaled
    y: np.ndarray  # (n,) float64, NaN where unlabelled
    labelled: np.ndarray  # (n,) bool
    symbols: np.ndarray  # (n,) str
    ts: pd.DatetimeIndex  # (n,) UTC start time of the decision bar
    position: np.ndarray  # (n,) int, row of the decision bar in its symbol's bars frame
    recent_returns: np.ndarray  # (n, window) float64, unscaled ``ret`` inside the window
    features: tuple[str, ...]
    window: int
    y_var: np.ndarray = field(default_factory=lambda: np.empty(0))  # (n,) next bar's range variance
    har: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))  # (n, 3) d/w/m mean range variance
    ewma_rv: np.ndarray = field(default_factory=lambda: np.empty(0))  # (n,) EWMA forecast of y_var
    ewma_ret: np.ndarray = field(default_factory=lambda: np.empty(0))  # (n,) EWMA forecast of y**2
    returns: Mapping[str, np.ndarray] = field(default_factory=dict)  # symbol -> log returns by position

    def __len__(self) -> int:
        return len(self.y)

    @property
    def decision_rows(self) -> np.ndarray:
        """(n, F): each sample's own feature row; fit a Scaler on these for the training samples."""
        return self.X[:, -1, :]

    def take(self, index: np.ndarray | slice) -> Dataset:
        """A sub-dataset (boolean mask, integer indices or slice), order kept."""
        return Dataset(
            self.X[index],
            self.y[index],
            self.labelled[index],
            self.symbols[index],
            self.ts[index],
            self.position[index],
            self.recent_returns[index],
            self.features,
            self.window,
            self.y_var[index],
            self.har[index],
            self.ewma_rv[index],
            self.ewma_ret[index],
            self.returns,
        )

    def select(self, names: Sequence[str]) -> Dataset:
        """The same samples with only the feature columns ``names`` (in that order)."""
        missing = [n for n in names if n not in self.features]
        if missing:
            raise ValueError(f"the dataset has no feature columns {missing}")
        idx = [self.features.index(n) for n in names]
        return replace(self, X=np.ascontiguousarray(self.X[:, :, idx]), features=tuple(names))


def _check_feature_names(names: tuple[str, ...]) -> None:
    known = PRICE_FEATURES + RISK_FEATURES + SENTIMENT_FEATURES
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise ConfigError(f"model.features: expected a non-empty list from {', '.join(known)} (bad: {bad!r})")


def union_features(*lists: Sequence[str]) -> tuple[str, ...]:
    """Every feature named in ``lists``, first appearance first."""
    return tuple(dict.fromkeys(name for names in lists for name in names))


def build_dataset(
    frames_by_symbol: Mapping[str, pd.DataFrame],
    feature_names: Sequence[str],
    window: int,
    volume_window: int,
    sentiment_by_symbol: Mapping[str, pd.DataFrame] | None = None,
    ewma_lambda: float = 0.94,
) -> Dataset:
    """Windows of ``feature_names`` for every symbol, merged in decision-time order.

    Samples whose window holds an undefined feature (the warm-up bars) are dropped; the last bar of
    each symbol is kept with ``y`` NaN for inference. Raises DataError for NaN/inf or non-positive
    bars, a symbol whose close never changes, or a symbol with too few bars for one window.
    """
    names = tuple(feature_names)
    _check_feature_names(names)
    if window < 1:
        raise ConfigError(f"model.window: expected a whole number >= 1, got {window!r}")
    if not frames_by_symbol:
        raise DataError("no bars to build a dataset from (no symbols given)")
    needs_sentiment = any(n in SENTIMENT_FEATURES for n in names)
    warmup = max(
        [1]
        + [volume_window for n in names if n == "rel_volume"]
        + [HAR_LAGS[n] - 1 for n in names if n in HAR_LAGS]
    )
    parts, returns = [], {}
    for symbol, bars in frames_by_symbol.items():
        sentiment = None
        if needs_sentiment:
            if sentiment_by_symbol is None or symbol not in sentiment_by_symbol:
                raise DataError(f"{symbol}: the features ask for sentiment but none was given")
            sentiment = sentiment_by_symbol[symbol]
        feats = bar_features(bars, volume_window, sentiment, name=symbol)
        need = warmup + window
        if len(bars) < need:
            raise DataError(
                f"{symbol}: {len(bars)} bars are too few for one window: need at least {need} "
                f"({warmup} warm-up bars + a {window}-bar window)"
            )
        ret = feats["ret"].to_numpy()
        if not np.nanstd(ret) > 0:
            raise DataError(
                f"{symbol}: the close price never changes over {len(bars)} bars (zero variance of returns); "
                "a model cannot learn from constant prices - check the data source"
            )
        X = make_windows(feats[list(names)].to_numpy(dtype=np.float64), window)
        recent = np.ascontiguousarray(sliding_window_view(ret, window))
        ok = np.isfinite(X).all(axis=(1, 2)) & np.isfinite(recent).all(axis=1)
        ends = np.arange(window - 1, len(bars))[ok]
        y = next_returns(bars).to_numpy()[ends]
        risk = _risk_inputs(bars, feats, ewma_lambda)
        parts.append(
            (symbol, X[ok], y, bars.index[ends].tz_convert("UTC"), ends, recent[ok], *(a[ends] for a in risk))
        )
        returns[symbol] = ret

    ts = parts[0][3].append([p[3] for p in parts[1:]]).as_unit("ns")  # append reconciles time units
    symbols = np.concatenate([np.full(len(p[1]), p[0], dtype=object) for p in parts])
    symbol_rank = np.concatenate([np.full(len(p[1]), i) for i, p in enumerate(parts)])
    order = np.lexsort((symbol_rank, ts.asi8))  # time first, then the caller's symbol order
    y = np.concatenate([p[2] for p in parts])[order]

    def merged(i: int) -> np.ndarray:
        return np.ascontiguousarray(np.concatenate([p[i] for p in parts])[order])

    y_var = merged(6)
    y_var[np.isnan(y)] = np.nan
    return Dataset(
        X=merged(1),
        y=y,
        labelled=~np.isnan(y),
        symbols=symbols[order],
        ts=ts[order].rename("ts"),
        position=merged(4).astype(np.int64),
        recent_returns=merged(5),
        features=names,
        window=window,
        y_var=y_var,
        har=merged(7),
        ewma_rv=merged(8),
        ewma_ret=merged(9),
        returns=returns,
    )


def _risk_inputs(bars: pd.DataFrame, feats: pd.DataFrame, ewma_lambda: float) -> tuple[np.ndarray, ...]:
    """Per bar: next range variance, HAR levels (n, 3), EWMA of the range variance, EWMA of r^2."""
    variance = garman_klass(*(bars[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close")))
    har = np.column_stack([trailing_mean(variance, lag) for lag in HAR_LAGS.values()])
    squared = np.nan_to_num(feats["ret"].to_numpy() ** 2, nan=0.0)
    squared[0] = squared[1] if len(squared) > 1 else 0.0  # the first bar has no return: not a calm day
    return (
        next_variance(variance),
        har,
        ewma_forecast(variance, ewma_lambda),
        ewma_forecast(squared, ewma_lambda),
    )
