"""The trained LSTM's forward pass in NumPy, so inference never loads TensorFlow.

Mirrors Keras 3's ``LSTM`` with its defaults (activation tanh, recurrent activation sigmoid,
bias on, gate order i, f, c, o in the kernel columns) stacked N times, the last layer returning its
final state, followed by ``Dense(1)``. Dropout layers are identity at inference and are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # tanh form: same values as 1 / (1 + exp(-x)) but never overflows for large |x|.
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass(frozen=True, eq=False)
class NumpyLSTM:
    """Stacked LSTM + Dense(1). ``layers`` holds (kernel (F, 4U), recurrent (U, 4U), bias (4U,))."""

    layers: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]
    dense_kernel: np.ndarray  # (U, 1)
    dense_bias: np.ndarray  # (1,)

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("a NumpyLSTM needs at least one LSTM layer")
        n_in = self.layers[0][0].shape[0]
        for i, (kernel, recurrent, bias) in enumerate(self.layers):
            units = recurrent.shape[0]
            expected = ((n_in, 4 * units), (units, 4 * units), (4 * units,))
            if (kernel.shape, recurrent.shape, bias.shape) != expected:
                raise ValueError(
                    f"LSTM layer {i}: inconsistent shapes kernel {kernel.shape}, "
                    f"recurrent {recurrent.shape}, bias {bias.shape}"
                )
            n_in = units
        if self.dense_kernel.shape != (n_in, 1) or self.dense_bias.shape != (1,):
            raise ValueError(
                f"Dense layer: expected kernel ({n_in}, 1) and bias (1,), "
                f"got {self.dense_kernel.shape} and {self.dense_bias.shape}"
            )
        arrays = [a for layer in self.layers for a in layer] + [self.dense_kernel, self.dense_bias]
        if not all(np.isfinite(a).all() for a in arrays):
            raise ValueError("weights contain NaN or infinite values")

    @property
    def n_features(self) -> int:
        return self.layers[0][0].shape[0]

    @classmethod
    def from_keras(cls, model: Any) -> NumpyLSTM:
        """Copy the weights of a model built by ``bot.forecast.lstm.build_model``."""
        layers, dense = [], None
        for layer in model.layers:
            kind = type(layer).__name__
            if kind == "LSTM":
                if dense is not None:
                    raise ValueError("an LSTM layer after the Dense layer is not supported")
                cell = layer.cell
                activations = (cell.activation.__name__, cell.recurrent_activation.__name__)
                if not cell.use_bias or activations != ("tanh", "sigmoid"):
                    raise ValueError(f"LSTM layer {layer.name}: only tanh/sigmoid with bias is supported")
                kernel, recurrent, bias = (np.asarray(w, dtype=np.float32) for w in layer.get_weights())
                layers.append((kernel, recurrent, bias))
            elif kind == "Dense":
                if dense is not None or layer.activation.__name__ != "linear":
                    raise ValueError("expected exactly one linear Dense output layer")
                dense = [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]
            elif kind not in ("Dropout", "InputLayer"):
                raise ValueError(f"layer {layer.name} of type {kind} is not supported by NumpyLSTM")
        if dense is None:
            raise ValueError("the model has no Dense output layer")
        return cls(tuple(layers), dense[0], dense[1])

    @classmethod
    def from_weights(cls, weights: list[np.ndarray]) -> NumpyLSTM:
        """From Keras's ``get_weights()`` order: (kernel, recurrent, bias) per LSTM layer, then the
        Dense kernel and bias."""
        if len(weights) < 5 or (len(weights) - 2) % 3:
            raise ValueError(f"expected 3 arrays per LSTM layer and 2 for Dense, got {len(weights)}")
        arrays = [np.asarray(w, dtype=np.float32) for w in weights]
        layers = tuple(tuple(arrays[i : i + 3]) for i in range(0, len(arrays) - 2, 3))
        return cls(layers, arrays[-2], arrays[-1])

    def to_keras_weights(self) -> list[np.ndarray]:
        """Inverse of ``from_weights`` (for ``set_weights`` on a model of ``build_model``)."""
        return [a for layer in self.layers for a in layer] + [self.dense_kernel, self.dense_bias]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat name -> array mapping, e.g. for ``np.savez`` (no pickling needed to load it)."""
        out = {"dense_kernel": self.dense_kernel, "dense_bias": self.dense_bias}
        for i, (kernel, recurrent, bias) in enumerate(self.layers):
            out[f"lstm{i}_kernel"], out[f"lstm{i}_recurrent"], out[f"lstm{i}_bias"] = kernel, recurrent, bias
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> NumpyLSTM:
        """Inverse of ``to_arrays``; raises ValueError (or KeyError) for missing or inconsistent arrays."""
        layers = []
        while f"lstm{len(layers)}_kernel" in arrays:
            i = len(layers)
            layers.append(
                tuple(
                    np.asarray(arrays[f"lstm{i}_{part}"], dtype=np.float32)
                    for part in ("kernel", "recurrent", "bias")
                )
            )
        return cls(
            tuple(layers),
            np.asarray(arrays["dense_kernel"], dtype=np.float32),
            np.asarray(arrays["dense_bias"], dtype=np.float32),
        )

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(n, window, F) scaled inputs -> (n,) forecasts; vectorised over the batch."""
        x = np.asarray(X, dtype=np.float32)
        if x.ndim != 3 or x.shape[2] != self.n_features:
            raise ValueError(f"expected inputs (n, window, {self.n_features}), got {x.shape}")
        n, steps, _ = x.shape
        seq = x
        for depth, (kernel, recurrent, bias) in enumerate(self.layers):
            units = recurrent.shape[0]
            last = depth == len(self.layers) - 1
            # Input projections of all steps in one matmul; only the recurrence needs the loop.
            projected = seq @ kernel + bias  # (n, steps, 4U)
            h = np.zeros((n, units), dtype=np.float32)
            c = np.zeros((n, units), dtype=np.float32)
            outputs = None if last else np.empty((n, steps, units), dtype=np.float32)
            for t in range(steps):
                z = projected[:, t, :] + h @ recurrent
                i = _sigmoid(z[:, :units])
                f = _sigmoid(z[:, units : 2 * units])
                g = np.tanh(z[:, 2 * units : 3 * units])
                o = _sigmoid(z[:, 3 * units :])
                c = f * c + i * g
                h = o * np.tanh(c)
                if outputs is not None:
                    outputs[:, t, :] = h
            seq = h if last else outputs
        return (seq @ self.dense_kernel + self.dense_bias)[:, 0]
