"""The live path (NumPy on the view's last bars) gives the batch path's forecasts exactly."""

import numpy as np
import pandas as pd

from bot.config import ModelConfig
from bot.engine.market import MarketView
from bot.forecast.features import Scaler
from bot.forecast.forecaster import BatchForecaster, LiveForecaster
from bot.forecast.numpy_lstm import NumpyLSTM
from bot.forecast.registry import LoadedModel, RiskHead


def frames(n=120, symbols=("AAA", "BBB")):
    out = {}
    for k, symbol in enumerate(symbols):
        rng = np.random.default_rng(k)
        close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
        index = pd.date_range("2022-01-03", periods=n, freq="B", tz="America/New_York").tz_convert("UTC")
        out[symbol] = pd.DataFrame(
            {
                "open": close,
                "high": close * 1.01,
                "low": close * 0.99,
                "close": close,
                "volume": rng.lognormal(10, 0.5, n),
            },
            index=index.rename("ts"),
        )
    return out


def random_net(f, units=4, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "lstm0_kernel": rng.normal(0, 0.3, (f, 4 * units)),
        "lstm0_recurrent": rng.normal(0, 0.3, (units, 4 * units)),
        "lstm0_bias": rng.normal(0, 0.1, 4 * units),
        "dense_kernel": rng.normal(0, 0.3, (units, 1)),
        "dense_bias": np.zeros(1),
    }
    return NumpyLSTM.from_arrays(arrays)


def random_model(features, window, volume_window, units=4, risk_features=None):
    f = len(features)
    scaler = Scaler(np.zeros(f), np.ones(f), tuple(features))
    meta = {
        "model_id": "m1",
        "features": list(features),
        "window": window,
        "volume_window": volume_window,
        "status": "active",
        "risk_status": "active" if risk_features else "rejected",
    }
    risk = None
    if risk_features:
        r = len(risk_features)
        # log-variance inputs sit near -9: a scaler keeps the random net in its working range
        risk = RiskHead(
            tuple(risk_features),
            Scaler(np.full(r, -5.0), np.full(r, 4.0), tuple(risk_features)),
            random_net(r, units, seed=1),
            variance_scale=1e-4,
            ratios={"AAA": 1.5},
        )
    return LoadedModel(meta, scaler, random_net(f, units), risk)


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


def test_live_risk_forecasts_equal_batch_risk_forecasts():
    """Both heads, the risk head on HAR inputs (22-bar look-back): live == batch, ratio applied."""
    cfg = ModelConfig(features=("ret", "range"), window=10, volume_window=5)
    risk_features = ("log_rv", "log_rv_w", "log_rv_m", "ret", "rel_volume")
    data = frames()
    model = random_model(cfg.features, cfg.window, cfg.volume_window, risk_features=risk_features)
    batch, live = BatchForecaster(model, data, None), LiveForecaster(model)
    view = MarketView(data)
    compared = 0
    for _ in range(len(view)):
        view.advance()
        a, b = batch.volatility(view), live.volatility(view)
        assert a.keys() == b.keys()
        for symbol in a:
            assert a[symbol] > 0 and np.isfinite(a[symbol])
            assert abs(a[symbol] / b[symbol] - 1) < 1e-5
            compared += 1
    # 120 bars: log_rv_m is defined from row 21, so the first 10-bar window ends at row 30: 90 per symbol
    assert compared == 2 * (120 - 30)
    # the ratio of AAA (1.5) is applied; BBB (unknown) gets the mean ratio, also 1.5
    assert batch.volatility(view).keys() == {"AAA", "BBB"}


def test_a_rejected_risk_head_gives_no_volatility():
    model = random_model(("ret",), 10, 5, risk_features=("log_rv", "ret"))
    model.meta["risk_status"] = "rejected"
    view = MarketView(frames())
    for _ in range(len(view)):
        view.advance()
    assert BatchForecaster(model, frames(), None).volatility(view) == {}
    assert LiveForecaster(model).volatility(view) == {}


def test_forecasts_stay_finite_on_penny_prices_halts_and_gaps():
    """High = low days, prices under $0.10, a gap and a ten-bar halt: every forecast is finite."""
    data = frames(n=200, symbols=("PNNY",))
    bars = data["PNNY"] * 0.001  # prices around $0.05
    bars["volume"] = data["PNNY"]["volume"]
    bars.iloc[80:] *= [1.7, 1.7, 1.7, 1.7, 1]  # a gap up
    bars.iloc[120:130, :4] = bars["close"].iloc[119]  # a halt: high == low == open == close
    bars.iloc[50, :4] = bars["close"].iloc[50]  # one more bar with no range
    data = {"PNNY": bars}
    model = random_model(
        ("ret", "range", "rel_volume"),
        10,
        5,
        risk_features=("log_rv", "log_rv_w", "log_rv_m", "ret", "range"),
    )
    batch, live = BatchForecaster(model, data, None), LiveForecaster(model)
    view = MarketView(data)
    seen = 0
    for _ in range(len(view)):
        view.advance()
        for answer in (
            batch.forecasts(view),
            batch.volatility(view),
            live.forecasts(view),
            live.volatility(view),
        ):
            assert all(np.isfinite(v) for v in answer.values())
            seen += len(answer)
    assert seen > 4 * 150
