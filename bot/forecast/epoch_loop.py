"""The LSTM heads' training loop: one compiled TensorFlow call per epoch, weights kept in NumPy.

Keras's ``fit`` spent most of the walk-forward's time outside arithmetic: a ``tf.data`` iterator
per epoch, a callback round per batch group, the LSTM as a few hundred small graph ops per step
and Adam as a handful of ops per weight. Here one ``tf.function`` runs a whole epoch: every batch
(a ``tf.while_loop``), the validation loss of the epoch's last weights, all in one call. The LSTM
layers are TensorFlow's fused ``BlockLSTMV2`` kernel (Keras's LSTM cell exactly: gates i, f, c, o
in the kernel's columns, sigmoid/tanh, no forget bias added, no clipping) and Adam works on one
flat parameter vector (Keras's Adam formula, epsilon 1e-7). The function is pure: weights, Adam's
slots and step counter go in and come out, so one traced function serves every fit of an
architecture, including two fits running at once on two threads (``bot.forecast.walkforward``).

**Seeding contract.** A fit depends only on its data and the config: the initial weights are a
fresh ``build_model``'s (seeded by ``config.seed``; ``bot.forecast.lstm`` builds them once per
architecture and copies them), the
batch order is drawn from ``numpy.random.default_rng((seed, epoch))`` and the dropout masks from
TensorFlow's stateless generator keyed by (seed, epoch) folded with the batch and layer. Nothing global is drawn
from, so the thread a fit runs on and what ran before it change nothing (tested bit for bit).

Early stopping follows Keras's ``EarlyStopping(monitor="val_loss", patience, restore_best_weights)``:
stop once ``patience`` epochs in a row did not lower the best validation loss; keep the best
epoch's weights.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from bot.config import ModelConfig

BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-7  # Keras Adam's defaults

_lock = threading.Lock()  # tracing is not meant to run on two threads at once
_epochs: dict[tuple, Callable[..., Any]] = {}


def architecture(n_features: int, window: int, config: ModelConfig, head: str) -> tuple:
    """What a compiled epoch and the initial weights depend on (the data's size does not)."""
    return (
        n_features,
        window,
        head,
        config.layers,
        config.units,
        config.dropout,
        config.learning_rate,
        config.seed,
        config.batch_size,
    )


def clear() -> None:
    """Forget the compiled epochs."""
    with _lock:
        _epochs.clear()


def _epoch_function(shapes: list[tuple[int, ...]], key: tuple, config: ModelConfig, head: str) -> Any:
    with _lock:
        if key not in _epochs:
            _epochs[key] = _build_epoch(shapes, config, head)
        return _epochs[key]


def _build_epoch(shapes: list[tuple[int, ...]], config: ModelConfig, head: str) -> Any:
    """The traced epoch: (params, m, v, step, X, y, batches, weights, X_val, y_val, seed) ->
    (params, m, v, step, train loss, validation loss). X is time-major (window, n, features);
    ``batches`` (n_batches, batch_size) holds sample indices, ``weights`` 1 for a sample and 0 for
    the padding of the last batch."""
    import tensorflow as tf  # imported and configured by bot.forecast.lstm before the first fit

    sizes = [int(np.prod(s)) for s in shapes]
    layers, units, rate = config.layers, config.units, float(config.dropout)
    lr = float(config.learning_rate)

    def unflatten(p: Any) -> list[Any]:
        return [tf.reshape(part, s) for part, s in zip(tf.split(p, sizes), shapes)]

    @tf.custom_gradient
    def lstm_layer(x: Any, w: Any, b: Any) -> Any:
        """All steps' outputs (window, n, units) of one LSTM layer, kernel ``w`` = [kernel;
        recurrent]. The gradient is BlockLSTMGradV2's: TensorFlow registers the V1 gradient
        (gate layout i, c, f, o) for BlockLSTMV2 (layout i, f, c, o), which swaps two gates'
        weight gradients; ``test_the_epoch_loop_trains_what_keras_fit_trains`` catches that."""
        n = tf.shape(x)[1]
        state, peephole = tf.zeros(tf.stack([n, units])), tf.zeros([units])
        args = dict(
            seq_len_max=tf.cast(tf.shape(x)[0], tf.int64),
            x=x,
            cs_prev=state,
            h_prev=state,
            w=w,
            wci=peephole,
            wcf=peephole,
            wco=peephole,
            b=b,
        )
        i, cs, f, o, ci, co, h = tf.raw_ops.BlockLSTMV2(**args, cell_clip=0.0, use_peephole=False)

        def grad(h_grad: Any) -> tuple[Any, Any, Any]:
            out = tf.raw_ops.BlockLSTMGradV2(
                **args,
                i=i,
                cs=cs,
                f=f,
                o=o,
                ci=ci,
                co=co,
                h=h,
                cs_grad=tf.zeros_like(cs),
                h_grad=h_grad,
                use_peephole=False,
            )
            return out[0], out[3], out[7]  # x, w, b

        return h, grad

    def forward(p: Any, x: Any, seed: Any | None) -> Any:
        weights = unflatten(p)
        seq = x
        for layer in range(layers):
            kernel, recurrent, bias = weights[3 * layer : 3 * layer + 3]
            seq = lstm_layer(seq, tf.concat([kernel, recurrent], 0), bias)
            if layer == layers - 1:
                seq = seq[-1]  # the last step's output feeds the Dense head
            if seed is not None and rate > 0:
                mask_seed = tf.random.experimental.stateless_fold_in(seed, layer)
                keep = tf.random.stateless_uniform(tf.shape(seq), seed=mask_seed) >= rate
                seq = seq * tf.cast(keep, seq.dtype) / (1.0 - rate)
        return (seq @ weights[-2] + weights[-1])[:, 0]

    def loss(y: Any, out: Any) -> Any:
        if head == "risk":  # bot.forecast.lstm.qlike_loss
            log_h = tf.clip_by_value(out, -30.0, 30.0)
            return y * tf.exp(-log_h) + log_h
        return tf.square(y - out)

    spec = tf.TensorSpec
    signature = [spec([None], tf.float32)] * 3 + [
        spec([], tf.float32),
        spec([None, None, None], tf.float32),
        spec([None], tf.float32),
        spec([None, config.batch_size], tf.int32),
        spec([None, config.batch_size], tf.float32),
        spec([None, None, None], tf.float32),
        spec([None], tf.float32),
        spec([2], tf.int64),
    ]

    # autograph off: the loop is an explicit tf.while_loop and every other branch is on Python
    # values, so the graph is the same; converting the code took 0.85 s of each head's trace, on
    # the critical path (the two traces take turns at the interpreter lock)
    @tf.function(input_signature=signature, reduce_retracing=True, autograph=False)
    def epoch(p, m, v, step, X, y, batches, weights, X_val, y_val, seed):  # noqa: ANN001, ANN202
        def body(b, p, m, v, step, total):  # noqa: ANN001, ANN202
            idx, w = batches[b], weights[b]
            with tf.GradientTape() as tape:
                tape.watch(p)
                batch_seed = tf.random.experimental.stateless_fold_in(seed, b)
                out = forward(p, tf.gather(X, idx, axis=1), batch_seed)
                batch_loss = tf.reduce_sum(loss(tf.gather(y, idx), out) * w) / tf.reduce_sum(w)
            g = tape.gradient(batch_loss, p)
            step = step + 1.0
            m = m + (g - m) * (1.0 - BETA_1)
            v = v + (g * g - v) * (1.0 - BETA_2)
            alpha = lr * tf.sqrt(1.0 - BETA_2**step) / (1.0 - BETA_1**step)
            p = p - alpha * m / (tf.sqrt(v) + EPSILON)
            return b + 1, p, m, v, step, total + batch_loss * tf.reduce_sum(w)

        n_batches = tf.shape(batches)[0]
        _, p, m, v, step, total = tf.while_loop(
            lambda b, *_: b < n_batches, body, (tf.constant(0), p, m, v, step, tf.constant(0.0))
        )
        val_loss = tf.reduce_mean(loss(y_val, forward(p, X_val, None)))
        return p, m, v, step, total / tf.reduce_sum(weights), val_loss

    return epoch


def train(
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    val: np.ndarray,
    config: ModelConfig,
    head: str,
    initial: list[np.ndarray],
    progress: bool = False,
    shuffle: bool = True,
) -> tuple[list[np.ndarray], dict]:
    """Fit from ``initial`` (a fresh ``build_model``'s weights, Keras order; see
    ``bot.forecast.lstm.initial_weights``) on ``X[train]``, validating on ``X[val]``; returns the
    best epoch's weights (Keras order) and the history (see ``bot.forecast.lstm.fit_model``).
    TensorFlow must be imported and configured first (``bot.forecast.lstm`` does it).
    ``shuffle=False`` keeps the samples in order (to compare with Keras's ``fit`` in a test)."""
    import tensorflow as tf

    n_features, window = X.shape[2], X.shape[1]
    shapes = [w.shape for w in initial]
    epoch = _epoch_function(shapes, architecture(n_features, window, config, head), config, head)
    time_major = tf.constant(np.ascontiguousarray(X[train].transpose(1, 0, 2)))
    y_train = tf.constant(y[train])
    X_val = tf.constant(np.ascontiguousarray(X[val].transpose(1, 0, 2)))
    y_val = tf.constant(y[val])
    n, size = len(train), config.batch_size
    n_batches = -(-n // size)
    weights = np.zeros(n_batches * size, dtype=np.float32)
    weights[:n] = 1.0
    weights_t = tf.constant(weights.reshape(n_batches, size))
    p = tf.constant(np.concatenate([w.ravel() for w in initial]))
    m = v = tf.zeros_like(p)
    step = tf.constant(0.0)
    best_params, best, wait = p, None, 0
    losses: list[float] = []
    val_losses: list[float] = []
    for e in range(config.epochs):
        order = np.zeros(n_batches * size, dtype=np.int32)  # padding points at sample 0, weight 0
        order[:n] = np.random.default_rng((config.seed, e)).permutation(n) if shuffle else np.arange(n)
        seed = tf.constant([config.seed, e], tf.int64)
        p, m, v, step, train_loss, val_loss = epoch(
            p, m, v, step, time_major, y_train, order.reshape(n_batches, size), weights_t, X_val, y_val, seed
        )
        losses.append(float(train_loss))
        val_losses.append(float(val_loss))
        if progress:
            # the head named: the walk-forward fits both heads at once, their lines interleave
            line = f"{head} head: epoch {e + 1}/{config.epochs} loss={losses[-1]:.6g} val_loss={val_losses[-1]:.6g}"
            print(line, file=sys.stderr, flush=True)
        wait += 1
        if best is None or val_losses[-1] < best:
            best, best_params, wait = val_losses[-1], p, 0
        elif wait >= config.patience and e > 0:
            break
    flat = best_params.numpy()
    parts = np.split(flat, np.cumsum([w.size for w in initial])[:-1])
    fitted = [part.reshape(w.shape) for part, w in zip(parts, initial)]
    return fitted, {"loss": losses, "val_loss": val_losses}
