"""The epoch loop against Keras's own ``fit``, and fits run on two threads at once."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from bot.config import ModelConfig
from bot.forecast import epoch_loop
from bot.forecast.features import make_windows
from bot.forecast.lstm import build_model, fit_network, initial_weights, validation_split

CONFIG = ModelConfig(
    features=("ret", "range"),
    window=8,
    units=4,
    epochs=4,
    patience=2,
    batch_size=32,
    learning_rate=0.01,
    dropout=0.0,
    validation_fraction=0.25,
    seed=5,
)


def series(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(windows of two AR(1) inputs, the next value of the first plus noise) as float32."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 2))
    for t in range(1, n):
        x[t] = 0.7 * x[t - 1] + rng.normal(size=2)
    X = make_windows(x[:-1], CONFIG.window).astype(np.float32)
    return X, x[CONFIG.window :, 0].astype(np.float32)


@pytest.mark.parametrize("head", ["return", "risk"])
def test_the_epoch_loop_trains_what_keras_fit_trains(head: str) -> None:
    """Without dropout and shuffling nothing is random: the loop's arithmetic (fused LSTM kernel,
    loss, flat Adam, validation, early stopping's best epoch) must match Keras's ``fit``."""
    keras = pytest.importorskip("keras")
    X, y = series(230, seed=3)  # 222 windows: the last training batch is a partial one
    y = np.abs(y) + 0.1 if head == "risk" else y
    train, val = validation_split(len(X), CONFIG.validation_fraction)
    initial = initial_weights(X.shape[2], X.shape[1], CONFIG, head)
    weights, history = epoch_loop.train(X, y, train, val, CONFIG, head, initial, shuffle=False)

    model = build_model(X.shape[2], CONFIG, head=head)
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=CONFIG.patience, restore_best_weights=True
    )
    fit = model.fit(
        X[train],
        y[train],
        validation_data=(X[val], y[val]),
        epochs=CONFIG.epochs,
        batch_size=CONFIG.batch_size,
        shuffle=False,
        callbacks=[stop],
        verbose=0,
    )
    np.testing.assert_allclose(history["loss"], fit.history["loss"], rtol=2e-4)
    np.testing.assert_allclose(history["val_loss"], fit.history["val_loss"], rtol=2e-4)
    assert len(weights) == len(model.get_weights()) == 5
    for mine, theirs in zip(weights, model.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-3, atol=1e-5)


def test_fits_on_two_threads_at_once_equal_fits_one_after_another() -> None:
    """What the walk-forward relies on to run folds concurrently: a fit shares no state."""
    config = dataclasses.replace(CONFIG, dropout=0.2, epochs=3)
    data = [series(200, seed=1), series(260, seed=2)]
    alone = [fit_network(X, y, config)[0].to_keras_weights() for X, y in data]
    together: list = [None, None]

    def run(i: int) -> None:
        together[i] = fit_network(*data[i], config)[0].to_keras_weights()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for first, second in zip(alone, together):
        for a, b in zip(first, second):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(alone[0][0], alone[1][0])  # the data did matter


def test_one_trace_serves_every_fit_of_an_architecture_whatever_its_size() -> None:
    """The walk-forward's folds grow fold by fold: a retrace per fit would cost seconds each."""
    config = dataclasses.replace(CONFIG, seed=11, epochs=2)
    X, y = series(400, seed=3)
    epoch_loop.clear()
    for n in (150, 260, 399):  # three training sizes, as three folds would have
        fit_network(X[:n], y[:n], config)
    fit_network(X[:200], np.abs(y[:200]) + 0.1, config, head="risk")
    key = epoch_loop.architecture(X.shape[2], X.shape[1], config, "return")
    assert epoch_loop._epochs[key].experimental_get_tracing_count() == 1
    risk = epoch_loop.architecture(X.shape[2], X.shape[1], config, "risk")
    assert epoch_loop._epochs[risk].experimental_get_tracing_count() == 1
