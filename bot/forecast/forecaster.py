"""Forecasters plug into the engine's forecast slot: next-bar log-return forecasts per symbol.

``BatchForecaster`` serves replays: it predicts every bar of the history in one batched NumPy pass
(features of bar t use bars and headlines up to t's close only, so predicting them up front leaks
nothing) and answers each step by looking up the prediction of each symbol's current bar. Inference
needs no TensorFlow (``bot.forecast.numpy_lstm``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from bot.forecast.features import build_dataset
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
