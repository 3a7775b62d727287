"""Build and train the Keras LSTM forecaster (training only: inference runs in ``numpy_lstm``).

TensorFlow is imported inside the functions, never at module import (docs/architecture.md, invariant 8),
and it is configured once: TensorFlow's own stderr lines silenced unless the log level is debug
(``bot.forecast.tensorflow_import``), one thread per op and one op per core at a time, and op
determinism on so that a seed reproduces a fit exactly on CPU.

**Training runs in ``bot.forecast.epoch_loop``**: one compiled TensorFlow call per epoch on
TensorFlow's fused LSTM kernel, weights in NumPy between epochs, so that fits are independent of
each other (the walk-forward runs two at once) and no Keras ``fit`` machinery is paid for. Keras
still builds the networks: their seeded initial weights, and the model ``fit_model`` returns and
the registry saves. The seeding contract: a fit depends only on its data and the config, so the
same seed gives the same model whatever ran before it and on whichever thread (tested bit for bit
in ``tests/forecast/test_lstm.py``).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from bot.config import ModelConfig
from bot.errors import DataError
from bot.forecast.epoch_loop import architecture, clear
from bot.forecast.epoch_loop import train as train_epochs
from bot.forecast.numpy_lstm import NumpyLSTM
from bot.forecast.tensorflow_import import import_tensorflow

_configured = False
_configure_lock = threading.Lock()
# Batches per call into TensorFlow (one traced loop runs them): the same updates in the same order
# with less Python and dispatch overhead per epoch for networks this small on a CPU.
STEPS_PER_EXECUTION = 32


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1: TensorFlow's inter-op
    pool and the walk-forward's fits (one per core) are sized by it."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _keras() -> Any:
    """Import TensorFlow/Keras configured for this bot (idempotent); returns the keras module."""
    global _configured
    tf, keras = import_tensorflow()  # quiet on stderr unless logging.level is debug

    if _configured:
        return keras
    with _configure_lock:  # the walk-forward's fits start on several threads at once
        if not _configured:
            try:
                # One thread per op: these networks' ops are too small to split (an op over two
                # threads cost 20 % more CPU and no wall time: fold 6's risk fit alone took 12.9
                # CPU-s on two, 10.7 on one). Parallelism comes from the walk-forward running one
                # fit per core, and those fits' calls share the inter-op pool: one thread there
                # would run them one after the other.
                tf.config.threading.set_intra_op_parallelism_threads(1)
                tf.config.threading.set_inter_op_parallelism_threads(usable_cores())
            except RuntimeError:
                pass  # TensorFlow already ran an op in this process: thread pools are fixed by then
            # Deterministic kernels cost little on CPU and make a seed reproduce the fit bit for bit.
            tf.config.experimental.enable_op_determinism()
            _configured = True  # only now: a thread seeing True finds it all done
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


_lock = threading.Lock()  # building draws from Keras's global seed: one thread at a time
_INITIAL: dict[tuple, list[np.ndarray]] = {}


def initial_weights(n_features: int, window: int, config: ModelConfig, head: str) -> list[np.ndarray]:
    """The weights of a fresh ``build_model`` (Keras order), built once per architecture."""
    key = architecture(n_features, window, config, head)
    with _lock:
        if key not in _INITIAL:
            model = build_model(n_features, config, window, head)
            _INITIAL[key] = [w.copy() for w in model.get_weights()]
        return [w.copy() for w in _INITIAL[key]]


_HOLDERS: OrderedDict[tuple, Any] = OrderedDict()
_MAX_HOLDERS = 4  # a walk-forward uses two architectures (one per head); an ablation two more


def _holder(n_features: int, window: int, config: ModelConfig, head: str) -> Any:
    """The architecture's Keras model that ``fit_model`` puts fitted weights into (built once)."""
    key = architecture(n_features, window, config, head)
    model = _HOLDERS.get(key)
    if model is None:
        model = _HOLDERS[key] = build_model(n_features, config, window=window, head=head)
        while len(_HOLDERS) > _MAX_HOLDERS:
            _HOLDERS.popitem(last=False)
    _HOLDERS.move_to_end(key)
    return model


def release_trainers() -> None:
    """Drop the cached models, initial weights and compiled epochs (the next fit builds afresh)."""
    clear()
    with _lock:
        _INITIAL.clear()
    if not _HOLDERS:
        return
    _HOLDERS.clear()
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


def fit_network(
    X_train: np.ndarray,
    y_train: np.ndarray,
    config: ModelConfig,
    progress: bool = False,
    times: np.ndarray | None = None,
    head: str = "return",
) -> tuple[NumpyLSTM, dict]:
    """Train a network from its seeded initial state on scaled windows; returns (the fitted
    network for NumPy inference, history). Touches no shared model: fits may run on several
    threads at once. See ``fit_model`` for the validation slice, early stopping and history."""
    X = np.ascontiguousarray(X_train, dtype=np.float32)
    y = np.asarray(y_train, dtype=np.float32).reshape(-1)
    if X.ndim != 3 or len(X) != len(y):
        raise ValueError(f"expected X (n, window, F) and y (n,), got {X.shape} and {y.shape}")
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise DataError("training windows or targets hold NaN/inf (unlabelled samples are inference only)")
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    train, val = validation_split(len(X), config.validation_fraction, times)
    _keras()  # TensorFlow imported quietly and configured before its first op
    initial = initial_weights(X.shape[2], X.shape[1], config, head)
    weights, fit = train_epochs(X, y, train, val, config, head, initial, progress)
    loss, val_loss = fit["loss"], fit["val_loss"]
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
    return NumpyLSTM.from_weights(weights), history


def fit_model(
    X_train: np.ndarray,
    y_train: np.ndarray,
    config: ModelConfig,
    progress: bool = False,
    times: np.ndarray | None = None,
    head: str = "return",
) -> tuple[Any, dict]:
    """Train a model from its seeded initial state on scaled windows; returns (model, history).

    The model is the architecture's shared Keras model holding the fitted weights: the next
    ``fit_model`` of the same architecture overwrites it, so copy what you keep first
    (``NumpyLSTM.from_keras``, ``get_weights``, or save it).

    The last ``config.validation_fraction`` of the samples by time (see ``validation_split``) is
    held out for early stopping on ``val_loss`` (patience ``config.patience``); the weights of the
    best epoch are restored. Seeds weights, dropout and batch shuffling with ``config.seed``
    (``bot.forecast.epoch_loop``). ``progress`` prints one line per epoch on stderr. ``history``
    holds per-epoch ``loss`` and ``val_loss`` plus ``best_epoch`` (1-based), ``best_val_loss``,
    ``epochs_run``, ``n_train`` and ``n_val`` as plain Python values (JSON-ready). ``head``
    chooses the network (``build_model``).
    """
    net, history = fit_network(X_train, y_train, config, progress, times, head)
    model = _holder(net.n_features, np.shape(X_train)[1], config, head)
    model.set_weights(net.to_keras_weights())
    return model, history
