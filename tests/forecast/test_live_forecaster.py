"""The live path (NumPy on the view's last bars) gives the batch path's forecasts exactly."""

import numpy as np
import pandas as pd

from bot.config import ModelConfig
from bot.forecast.features import Scaler, build_dataset
from bot.forecast.forecaster import BatchForecaster, LiveForecaster
from bot.forecast.numpy_lstm import NumpyLSTM
from bot.forecast.registry import LoadedModel
from bot.market import MarketView


def frames(n=120, symbols=("AAA", "BBB")):
    out = {}
    for k, symbol in enumerate(symbols):
        rng = np.random.default_rng(k)
        close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
        index = pd.date_range("2022-01-03", periods=n, freq="B", tz="America/New_York").tz_convert("UTC")
        out[symbol] = pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99, "close": close,
                                    "volume": rng.lognormal(10, 0.5, n)}, index=index.rename("ts"))  # fmt: skip
    return out


def random_model(features, window, volume_window, units=4):
    rng = np.random.default_rng(0)
    f = len(features)
    arrays = {"lstm0_kernel": rng.normal(0, 0.3, (f, 4 * units)), "lstm0_recurrent": rng.normal(0, 0.3, (units, 4 * units)),
              "lstm0_bias": rng.normal(0, 0.1, 4 * units), "dense_kernel": rng.normal(0, 0.3, (units, 1)),
              "dense_bias": np.zeros(1)}  # fmt: skip
    net = NumpyLSTM.from_arrays(arrays)
    scaler = Scaler(np.zeros(f), np.ones(f), tuple(features))
    meta = {"model_id": "m1", "features": list(features), "window": window, "volume_window": volume_window}
    return LoadedModel(meta, scaler, net)


def test_live_windows_equal_batch_windows():
    cfg = ModelConfig(features=("ret", "range", "rel_volume"), window=10, volume_window=5)
    data = frames()
    model = random_model(cfg.features, cfg.window, cfg.volume_window)
    batch = BatchForecaster(model, data, None)
    live = LiveForecaster(model)
    view = MarketView(data)
    compared = 0
    for _ in range(len(view)):
        view.advance()
        a, b = batch.forecasts(view), live.forecasts(view)
        assert a.keys() == b.keys()
        for symbol in a:
            assert abs(a[symbol] - b[symbol]) < 1e-6
            compared += 1
    assert compared > 150
