"""Build and train the Keras LSTM forecaster (training only: inference runs in ``numpy_lstm``).

TensorFlow is imported inside the functions, never at module import (docs/architecture.md, invariant 8),
and it is configured once: TensorFlow's own stderr lines silenced unless the log level is debug
(``bot.forecast.tensorflow_import``), thread pools capped at the machine's cores, and op
determinism on so that a seed reproduces a fit exactly on CPU.

**Compiled models are reused.** Building, compiling and tracing a network's training step costs
seconds, more than many of the walk-forward's fits themselves. ``fit_model`` therefore keeps one
compiled *trainer* per architecture (features, window, head, layers, units, dropout, learning rate,
seed) and, before each fit, puts every piece of its state back where a fresh build leaves it:
weights, the dropout layers' seed-generator states, the optimizer's slots and step counter, and
the global seeds. The seeding contract is unchanged by this: a fit depends only on its data and
the config, so the same seed gives the same model whether the trainer is new or reused (tested
bit for bit against a fresh build in ``tests/forecast/test_lstm.py``).
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.config import ModelConfig
from bot.errors import DataError
from bot.forecast.tensorflow_import import import_tensorflow

_configured = False
# Batches per call into TensorFlow (one traced loop runs them): the same updates in the same order
# with less Python and dispatch overhead per epoch for networks this small on a CPU.
STEPS_PER_EXECUTION = 32


def _keras() -> Any:
    """Import TensorFlow/Keras configured for this bot (idempotent); returns the keras module."""
    global _configured
    tf, keras = import_tensorflow()  # quiet on stderr unless logging.level is debug

    if not _configured:
        _configured = True
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        try:
            tf.config.threading.set_intra_op_parallelism_threads(cores)
            tf.config.threading.set_inter_op_parallelism_threads(min(cores, 2))
        except RuntimeError:
            pass  # TensorFlow already ran an op in this process: thread pools are fixed by then
        # Deterministic kernels cost little on CPU and make a seed reproduce the fit bit for bit.
        tf.config.experimental.enable_op_determinism()
    return keras


def qlike_loss(y_true: Any, log_h: Any) -> Any:
    """QLIKE / Gaussian negative log-likelihood of a variance forecast ``h = exp(log_h)`` for a
    realised variance ``y``: ``y / h + log h`` (Patton's QLIKE up to terms free of ``h``). Its
    expected value is minimised by ``h = E[y | inputs]``, so the head forecasts the variance itself;
    working on the log scale keeps ``h`` positive and the gradients of rare huge days bounded."""
    import keras

    log_h = keras.ops.clip(log_h, -30.0, 30.0)  # a wild early step must not overflow exp
    return keras.ops.mean(y_true * keras.ops.exp(-log_h) + log_h, axis=-1)


HEADS = ("return", "risk")


def build_model(n_features: int, config: ModelConfig, window: int | None = None, head: str = "return") -> Any:
    """``config.layers`` LSTM layers of ``config.units`` -> Dense(1); Adam.

    ``head="return"``: the output is the (scaled) next log return, loss MSE. ``head="risk"``: the
    output is the log of the (scaled) next range variance, loss ``qlike_loss``. Two networks rather
    than one with two outputs: the heads have their own targets, losses, early stopping and gates
    (a risk head can be active while the return head is rejected), and one linear output each keeps
    the TensorFlow-free ``NumpyLSTM`` inference unchanged.

    Dropout (``config.dropout``) follows every LSTM layer, i.e. it sits between each layer and the
    next one (the Dense head included), so a one-layer model is regularised too. ``window`` is the
    length of the input's time axis (default ``config.window``).
    """
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    keras = _keras()
    keras.utils.set_random_seed(config.seed)
    inputs = keras.Input(shape=(window or config.window, n_features), name="window")
    x = inputs
    for i in range(config.layers):
        # Unrolled over the window's fixed length: the same cell, ~25 % faster per training step
        # on a CPU than TensorFlow's while loop (sums can round differently, by ~1e-7).
        x = keras.layers.LSTM(
            config.units, return_sequences=i < config.layers - 1, unroll=True, name=f"lstm{i}"
        )(x)
        if config.dropout > 0:
            x = keras.layers.Dropout(config.dropout, seed=config.seed + i, name=f"dropout{i}")(x)
    outputs = keras.layers.Dense(1, name="next_return" if head == "return" else "next_log_variance")(x)
    model = keras.Model(inputs, outputs, name="lstm_forecaster" if head == "return" else "lstm_risk")
    loss = "mse" if head == "return" else qlike_loss
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
        loss=loss,
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    return model


@dataclass
class _Trainer:
    """A compiled model and the state a fresh build gives it (restored before every fit)."""

    model: Any
    initial: list[np.ndarray]  # model.variables then optimizer.variables, as built


_TRAINERS: OrderedDict[tuple, _Trainer] = OrderedDict()
_MAX_TRAINERS = 4  # a walk-forward uses two (one per head); an ablation two more


def _state(model: Any) -> list[Any]:
    # model.variables holds the weights and the dropout seed-generator states; the optimizer's
    # hold its step counter, learning rate and Adam slots.
    return [*model.variables, *model.optimizer.variables]


def _trainer(n_features: int, window: int, config: ModelConfig, head: str) -> Any:
    """The architecture's compiled model, reset to the state of a fresh ``build_model`` and with
    the global seeds set as a fresh build sets them."""
    keras = _keras()
    key = (
        n_features,
        window,
        head,
        config.layers,
        config.units,
        config.dropout,
        config.learning_rate,
        config.seed,
    )
    trainer = _TRAINERS.get(key)
    if trainer is None:
        model = build_model(n_features, config, window=window, head=head)
        # Adam builds its slots lazily at the first fit; built now, they are part of the snapshot.
        model.optimizer.build(model.trainable_variables)
        trainer = _Trainer(model, [v.numpy().copy() for v in _state(model)])
        _TRAINERS[key] = trainer
        while len(_TRAINERS) > _MAX_TRAINERS:
            _TRAINERS.popitem(last=False)
    else:
        _TRAINERS.move_to_end(key)
        for variable, value in zip(_state(trainer.model), trainer.initial):
            variable.assign(value)
        trainer.model.stop_training = False
    # After the reset the generators stand where a fresh build leaves them: building draws the
    # initial weights from the seeded global generator, and nothing a fit draws depends on it.
    keras.utils.set_random_seed(config.seed)
    return trainer.model


def release_trainers() -> None:
    """Drop the cached trainers and TensorFlow's graph state (the next fit builds afresh)."""
    if not _TRAINERS:
        return
    _TRAINERS.clear()
    import keras

    keras.backend.clear_session()


def validation_split(
    n: int, fraction: float, times: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, validation indices): validation = the time-latest ``fraction`` of samples.

    Without ``times`` the samples are taken to be in time order (``build_dataset`` orders them by
    decision time, then symbol), so the validation slice is the tail. With ``times`` (when samples
    of several symbols are interleaved in another order) the latest decision times are chosen;
    ties keep their given order. Never random: a random split would validate on the past of
    training samples and make early stopping optimistic.
    """
    n_val = max(1, int(round(n * fraction)))
    if n - n_val < 1:
        raise DataError(f"{n} training samples are too few to keep a validation slice (need at least 2)")
    order = np.arange(n) if times is None else np.argsort(np.asarray(times), kind="stable")
    return np.sort(order[: n - n_val]), np.sort(order[n - n_val :])


def _progress_callback(keras: Any, epochs: int) -> Any:
    class EpochLine(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            loss, val_loss = logs.get("loss", float("nan")), logs.get("val_loss", float("nan"))
            line = f"epoch {epoch + 1}/{epochs} loss={loss:.6g} val_loss={val_loss:.6g}"
            print(line, file=sys.stderr, flush=True)

    return EpochLine()


def fit_model(
    X_train: np.ndarray,
    y_train: np.ndarray,
    config: ModelConfig,
    progress: bool = False,
    times: np.ndarray | None = None,
    head: str = "return",
) -> tuple[Any, dict]:
    """Train a model from its seeded initial state on scaled windows; returns (model, history).

    The model is the architecture's shared trainer (see the module docstring): the next
    ``fit_model`` of the same architecture overwrites it, so copy what you keep first
    (``NumpyLSTM.from_keras``, ``get_weights``, or save it).

    The last ``config.validation_fraction`` of the samples by time (see ``validation_split``) is
    held out for early stopping on ``val_loss`` (patience ``config.patience``); the weights of the
    best epoch are restored. Seeds weights, dropout and batch shuffling with ``config.seed``.
    ``progress`` prints one line per epoch on stderr. ``history`` holds per-epoch ``loss`` and
    ``val_loss`` plus ``best_epoch`` (1-based), ``best_val_loss``, ``epochs_run``, ``n_train`` and
    ``n_val`` as plain Python values (JSON-ready). ``head`` chooses the network (``build_model``).
    """
    X = np.ascontiguousarray(X_train, dtype=np.float32)
    y = np.asarray(y_train, dtype=np.float32).reshape(-1)
    if X.ndim != 3 or len(X) != len(y):
        raise ValueError(f"expected X (n, window, F) and y (n,), got {X.shape} and {y.shape}")
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise DataError("training windows or targets hold NaN/inf (unlabelled samples are inference only)")
    train, val = validation_split(len(X), config.validation_fraction, times)
    keras = _keras()
    model = _trainer(X.shape[2], X.shape[1], config, head)  # seeds keras, numpy and python
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True)
    ]
    if progress:
        callbacks.append(_progress_callback(keras, config.epochs))
    fit = model.fit(
        X[train],
        y[train],
        validation_data=(X[val], y[val]),
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=True,  # drawn from the seeded global generator: same seed, same batches
        callbacks=callbacks,
        verbose=0,
    )
    loss = [float(v) for v in fit.history["loss"]]
    val_loss = [float(v) for v in fit.history["val_loss"]]
    best = int(np.argmin(val_loss))
    history = {
        "loss": loss,
        "val_loss": val_loss,
        "best_epoch": best + 1,
        "best_val_loss": val_loss[best],
        "epochs_run": len(loss),
        "n_train": int(len(train)),
        "n_val": int(len(val)),
    }
    return model, history
