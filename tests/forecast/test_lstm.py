"""The Keras LSTM: learns a tiny AR(1), reproducible, time-latest validation, NumPy forward pass equal."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bot.config import ModelConfig
from bot.errors import DataError
from bot.forecast.features import make_windows
from bot.forecast.lstm import build_model, fit_model, release_trainers, validation_split
from bot.forecast.numpy_lstm import NumpyLSTM

TINY = ModelConfig(
    features=("ret",),
    window=10,
    units=4,
    epochs=3,
    batch_size=32,
    learning_rate=0.03,
    dropout=0.0,
    validation_fraction=0.2,
    seed=11,
)


def ar1(n: int = 400, phi: float = 0.8, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + rng.normal()
    return make_windows(x[:-1, None], TINY.window), x[TINY.window :].astype(np.float32)


@pytest.fixture(scope="module")
def trained() -> tuple:
    X, y = ar1()
    model, history = fit_model(X, y, TINY)
    return X, y, model, history


def test_fits_a_tiny_ar1(trained: tuple) -> None:
    X, y, model, history = trained
    assert history["epochs_run"] <= 3 and len(history["loss"]) == history["epochs_run"]
    assert history["n_val"] == round(len(X) * 0.2) and history["n_train"] + history["n_val"] == len(X)
    assert history["val_loss"][-1] < history["val_loss"][0]
    mse = float(np.mean((model.predict(X, verbose=0)[:, 0] - y) ** 2))
    assert mse < 0.8 * float(np.var(y))  # learned part of the autocorrelation in 3 epochs


def test_same_seed_same_model(trained: tuple, capsys: pytest.CaptureFixture) -> None:
    X, y, model, history = trained
    before = model.predict(X, verbose=0)  # the trainer is shared: keep the first fit's forecasts
    again, history_again = fit_model(X, y, TINY, progress=True)
    np.testing.assert_array_equal(before, again.predict(X, verbose=0))
    assert history_again["loss"] == history["loss"]
    err = capsys.readouterr().err
    assert "epoch 1/3 loss=" in err and "val_loss=" in err


def _fit_weights(X: np.ndarray, y: np.ndarray, config: ModelConfig, head: str = "return") -> list[np.ndarray]:
    model, _ = fit_model(X, y, config, head=head)
    return [w.copy() for w in model.get_weights()]


@pytest.mark.parametrize("head", ["return", "risk"])
def test_a_reused_trainer_fits_exactly_what_a_fresh_model_fits(head: str) -> None:
    """The seeding contract with compiled models reused across folds: a fit depends only on its
    data and the config, not on what the architecture's trainer fitted before."""
    config = dataclasses.replace(TINY, dropout=0.2, epochs=2)  # dropout: its seed generator is reset too
    X, y = ar1(300)
    X_other, y_other = ar1(240, phi=-0.5, seed=9)
    y, y_other = (np.abs(y) + 0.1, np.abs(y_other) + 0.1) if head == "risk" else (y, y_other)
    release_trainers()
    fresh = _fit_weights(X, y, config, head)
    other_fresh = _fit_weights(X_other, y_other, config, head)  # the same trainer, other data
    reused = _fit_weights(X, y, config, head)  # the trainer again, after the other fit
    release_trainers()
    other_alone = _fit_weights(X_other, y_other, config, head)  # a fresh trainer for the other data
    assert len(fresh) == len(reused) == 5  # LSTM kernel, recurrent kernel, bias; Dense kernel, bias
    for a, b in zip(fresh, reused):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(other_fresh, other_alone):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(fresh, other_fresh))  # the data did matter


def test_another_seed_gives_another_model() -> None:
    X, y = ar1(200)
    first = _fit_weights(X, y, TINY)
    other = _fit_weights(X, y, dataclasses.replace(TINY, seed=TINY.seed + 1))
    assert not np.array_equal(first[0], other[0])


def test_validation_slice_is_the_time_latest_part(trained: tuple) -> None:
    train, val = validation_split(10, 0.2)
    assert train.tolist() == list(range(8)) and val.tolist() == [8, 9]
    times = np.array([5, 1, 9, 3, 7, 0, 8, 2, 6, 4])  # interleaved symbols: latest times are 9 and 8
    train, val = validation_split(10, 0.2, times)
    assert val.tolist() == [2, 6] and len(set(train) | set(val)) == 10
    with pytest.raises(DataError, match="too few"):
        validation_split(1, 0.2)
    # The restored best epoch's val_loss is the loss on the tail: the tail is what was validated on.
    X, y, model, history = trained
    n_val = history["n_val"]
    tail_loss = model.evaluate(X[-n_val:], y[-n_val:], verbose=0)
    assert tail_loss == pytest.approx(history["best_val_loss"], rel=1e-4)


def test_unlabelled_targets_are_refused() -> None:
    X, y = ar1(60)
    y[-1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        fit_model(X, y, TINY)


def _randomise(model, seed: int) -> None:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])


@pytest.mark.parametrize("layers", [1, 2])
def test_numpy_forward_pass_equals_keras(layers: int) -> None:
    config = dataclasses.replace(TINY, layers=layers, units=16, window=20, dropout=0.1)
    model = build_model(8, config)
    _randomise(model, seed=layers)
    net = NumpyLSTM.from_keras(model)
    assert len(net.layers) == layers and net.n_features == 8
    X = np.random.default_rng(3).normal(0, 1.5, (64, 20, 8)).astype(np.float32)
    expected = model.predict(X, verbose=0)[:, 0]
    np.testing.assert_allclose(net.predict(X), expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(net.predict(X[:1]), expected[:1], atol=1e-5, rtol=0)  # batch of one
    copy = NumpyLSTM.from_arrays(net.to_arrays())
    np.testing.assert_array_equal(copy.predict(X), net.predict(X))


def test_numpy_lstm_rejects_bad_shapes(trained: tuple) -> None:
    net = NumpyLSTM.from_keras(trained[2])
    with pytest.raises(ValueError, match=r"expected inputs \(n, window, 1\)"):
        net.predict(np.zeros((2, 10, 3), dtype=np.float32))
    arrays = net.to_arrays()
    arrays["lstm0_bias"] = arrays["lstm0_bias"][:-1]
    with pytest.raises(ValueError, match="inconsistent shapes"):
        NumpyLSTM.from_arrays(arrays)
