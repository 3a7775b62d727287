"""Forecasters plug into the engine's forecast slot: next-bar log-return forecasts per symbol.

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
from bot.forecast.features import build_dataset, price_features
from bot.forecast.registry import LoadedModel
from bot.market import MarketView


class BatchForecaster:
    def __init__(
        self,
        model: LoadedModel,
        frames: Mapping[str, pd.DataFrame],
        sentiment_by_bar: Mapping[str, pd.DataFrame] | None,
    ) -> None:
        meta = model.meta
        self.model_id = model.model_id
        dataset = build_dataset(frames, meta["features"], meta["window"], meta["volume_window"], sentiment_by_bar)
        predictions = model.predict(dataset.X) if len(dataset) else np.array([])
        self._by_symbol: dict[str, np.ndarray] = {}
        for symbol, frame in frames.items():
            values = np.full(len(frame), np.nan)
            mask = dataset.symbols == symbol
            values[dataset.position[mask]] = predictions[mask]
            self._by_symbol[symbol] = values
        #: how many bars got a forecast (the first window + warm-up bars of each symbol get none)
        self.predicted = int(np.isfinite(predictions).sum())

    def forecasts(self, view: MarketView) -> dict[str, float]:
        """The forecast made at the close of each symbol's latest visible bar (absent when none)."""
        out = {}
        for symbol, values in self._by_symbol.items():
            n = view.count(symbol)
            if n and np.isfinite(values[n - 1]):
                out[symbol] = float(values[n - 1])
        return out


SentimentRows = Callable[[str, int], np.ndarray]  # (symbol, rows) -> (rows, 5) latest sentiment features


class LiveForecaster:
    """Live decisions: each symbol's newest window built from the view's last bars with plain
    NumPy (no pandas, no TensorFlow) and one batched forward pass for all symbols.

    ``sentiment_rows(symbol, n)`` gives the sentiment features of the symbol's last ``n`` bar
    closes (oldest first); without it, the model must not use sentiment features.
    """

    def __init__(self, model: LoadedModel, sentiment_rows: SentimentRows | None = None) -> None:
        meta = model.meta
        self.model = model
        self.model_id = model.model_id
        self.features = tuple(meta["features"])
        self.window = int(meta["window"])
        self.volume_window = int(meta["volume_window"])
        self.sentiment_rows = sentiment_rows
        uses_sentiment = any(f in SENTIMENT_FEATURES for f in self.features)
        if uses_sentiment and sentiment_rows is None:
            raise ValueError("the model uses sentiment features: pass sentiment_rows")
        # bars needed: the window, one more for its first return, the volume baseline before that
        self.history = self.window + max(1, self.volume_window if "rel_volume" in self.features else 1)

    def forecasts(self, view: MarketView) -> dict[str, float]:
        names, windows = [], []
        for symbol in view.symbols:
            if view.count(symbol) < self.history:
                continue
            cols = {c: view.column(symbol, c)[-self.history :] for c in ("high", "low", "close", "volume")}
            price = price_features(cols["high"], cols["low"], cols["close"], cols["volume"], self.volume_window)
            sentiment = self.sentiment_rows(symbol, self.window) if self.sentiment_rows else None
            columns = []
            for name in self.features:
                if name in price:
                    columns.append(price[name][-self.window :])
                else:
                    columns.append(sentiment[:, SENTIMENT_FEATURES.index(name)])
            window = np.column_stack(columns)
            if np.isfinite(window).all():
                names.append(symbol)
                windows.append(window)
        if not windows:
            return {}
        predictions = self.model.predict(np.asarray(windows, dtype=np.float32))
        return {symbol: float(value) for symbol, value in zip(names, predictions)}
