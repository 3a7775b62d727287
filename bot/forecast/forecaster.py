"""Forecasters plug into the engine's forecast slot: per symbol, the next bar's log return
(``forecasts``, from the return head when it passed its gate) and the next bar's close-to-close
return variance (``volatility``, from the risk head when it passed its gate; empty otherwise, and
the strategy then falls back to EWMA).

``BatchForecaster`` serves replays: it predicts every bar of the history in one batched NumPy pass
(features of bar t use bars and headlines up to t's close only, so predicting them up front leaks
nothing) and answers each step by looking up the prediction of each symbol's current bar. Inference
needs no TensorFlow (``bot.forecast.numpy_lstm``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from bot.config import SENTIMENT_FEATURES
from bot.engine.market import MarketView
from bot.forecast.features import Dataset, build_dataset, price_features, union_features
from bot.forecast.range_variance import HAR_LAGS
from bot.forecast.registry import LoadedModel


class BatchForecaster:
    def __init__(
        self,
        model: LoadedModel,
        frames: Mapping[str, pd.DataFrame],
        sentiment_by_bar: Mapping[str, pd.DataFrame] | None,
    ) -> None:
        meta = model.meta
        self.model_id = model.model_id
        risk = model.risk if model.risk_usable else None
        names = union_features(meta["features"], risk.features if risk else ())
        dataset = build_dataset(frames, names, meta["window"], meta["volume_window"], sentiment_by_bar)
        empty = np.array([])
        returns = (
            model.predict(dataset.select(meta["features"]).X)
            if model.return_usable and len(dataset)
            else empty
        )
        variance = empty
        if risk is not None and len(dataset):
            variance = risk.predict_variance(dataset.select(risk.features).X)
            variance = variance * np.array([risk.ratio(s) for s in dataset.symbols])
        self._returns = self._by_bar(frames, dataset, returns)
        self._variance = self._by_bar(frames, dataset, variance)
        #: how many bars got a forecast (the first window + warm-up bars of each symbol get none)
        self.predicted = int(max(np.isfinite(returns).sum(), np.isfinite(variance).sum()))

    @staticmethod
    def _by_bar(
        frames: Mapping[str, pd.DataFrame], dataset: Dataset, predictions: np.ndarray
    ) -> dict[str, np.ndarray]:
        if not len(predictions):
            return {}
        out = {}
        for symbol, frame in frames.items():
            values = np.full(len(frame), np.nan)
            mask = dataset.symbols == symbol
            values[dataset.position[mask]] = predictions[mask]
            out[symbol] = values
        return out

    @staticmethod
    def _lookup(by_symbol: dict[str, np.ndarray], view: MarketView) -> dict[str, float]:
        out = {}
        for symbol, values in by_symbol.items():
            n = view.count(symbol)
            if n and np.isfinite(values[n - 1]):
                out[symbol] = float(values[n - 1])
        return out

    def forecasts(self, view: MarketView) -> dict[str, float]:
        """The return forecast made at the close of each symbol's latest visible bar (absent when none)."""
        return self._lookup(self._returns, view)

    def volatility(self, view: MarketView) -> dict[str, float]:
        """The risk head's forecast of the next bar's close-to-close return variance (absent when none)."""
        return self._lookup(self._variance, view)


SentimentRows = Callable[[str, int], np.ndarray]  # (symbol, rows) -> (rows, 5) latest sentiment features


class LiveForecaster:
    """Live decisions: each symbol's newest window built from the view's last bars with plain
    NumPy (no pandas, no TensorFlow) and one batched forward pass per head for all symbols.

    ``sentiment_rows(symbol, n)`` gives the sentiment features of the symbol's last ``n`` bar
    closes (oldest first); without it, the model must not use sentiment features.
    """

    def __init__(self, model: LoadedModel, sentiment_rows: SentimentRows | None = None) -> None:
        meta = model.meta
        self.model = model
        self.model_id = model.model_id
        self.risk = model.risk if model.risk_usable else None
        self.features = tuple(meta["features"])
        self.risk_features = self.risk.features if self.risk else ()
        self.window = int(meta["window"])
        self.volume_window = int(meta["volume_window"])
        self.sentiment_rows = sentiment_rows
        names = union_features(self.features if model.return_usable else (), self.risk_features)
        if any(f in SENTIMENT_FEATURES for f in names) and sentiment_rows is None:
            raise ValueError("the model uses sentiment features: pass sentiment_rows")
        # bars needed: the window, plus the longest look-back of its first row's features
        lookback = [1] + [self.volume_window for n in names if n == "rel_volume"]
        lookback += [HAR_LAGS[n] - 1 for n in names if n in HAR_LAGS]
        self.history = self.window + max(lookback)

    def _windows(self, view: MarketView, features: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
        names, windows = [], []
        for symbol in view.symbols:
            if view.count(symbol) < self.history:
                continue
            cols = {
                c: view.column(symbol, c)[-self.history :] for c in ("open", "high", "low", "close", "volume")
            }
            price = price_features(
                cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"], self.volume_window
            )
            sentiment = None
            if any(f in SENTIMENT_FEATURES for f in features):
                sentiment = self.sentiment_rows(symbol, self.window)
            columns = [
                price[name][-self.window :] if name in price else sentiment[:, SENTIMENT_FEATURES.index(name)]
                for name in features
            ]
            window = np.column_stack(columns)
            if np.isfinite(window).all():
                names.append(symbol)
                windows.append(window)
        return names, np.asarray(windows, dtype=np.float32)

    def forecasts(self, view: MarketView) -> dict[str, float]:
        if not self.model.return_usable:
            return {}
        names, windows = self._windows(view, self.features)
        if not names:
            return {}
        predictions = self.model.predict(windows)
        return {symbol: float(value) for symbol, value in zip(names, predictions)}

    def volatility(self, view: MarketView) -> dict[str, float]:
        """The risk head's close-to-close variance forecast per symbol (empty when it is not usable)."""
        if self.risk is None:
            return {}
        names, windows = self._windows(view, self.risk_features)
        if not names:
            return {}
        variance = self.risk.predict_variance(windows)
        return {symbol: float(v) * self.risk.ratio(symbol) for symbol, v in zip(names, variance)}
