"""The model registry: versioned folders under the models dir, and an active pointer per config.

Layout::

    <models dir>/
      active.json              {config key: model id}, replaced atomically
      <model id>/              e.g. 20260105T143000Z-1a2b3c4d
        model.keras            the return head's Keras model (for retraining/inspection; needs TensorFlow)
        weights.npz            the return head's NumpyLSTM arrays: inference loads these, never TensorFlow
        risk_model.keras       the risk head's Keras model (models trained before it existed lack it)
        risk_weights.npz       the risk head's NumpyLSTM arrays
        meta.json              see REQUIRED_META; ``status``/``reason`` are the return head's gate,
                               ``risk_status``/``risk_reason`` the risk head's, ``risk`` its inputs

A model folder is written under a temporary name and renamed into place, so a reader never sees
a half-written model. Loading checks that the model was trained for the features and window the
config asks for, and turns every problem into a one-line ``ModelError``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import ModelConfig
from bot.errors import ModelError
from bot.forecast.features import Scaler
from bot.forecast.numpy_lstm import NumpyLSTM
from bot.forecast.range_variance import forecast_variance
from bot.journal.atomic_file import atomic_write

META_FILE, WEIGHTS_FILE, KERAS_FILE, ACTIVE_FILE = "meta.json", "weights.npz", "model.keras", "active.json"
RISK_WEIGHTS_FILE, RISK_KERAS_FILE = "risk_weights.npz", "risk_model.keras"
STATUSES = ("active", "rejected", "candidate")
REQUIRED_META = (
    "model_id",
    "created_at",
    "features",
    "window",
    "volume_window",
    "timeframe",
    "symbols",
    "scaler",
    "training_range",
    "data_hash",
    "metrics",
    "status",
    "reason",
    "config",
)


@dataclass(frozen=True, eq=False)
class RiskHead:
    """The risk network: its features, scaler, forward pass and conversions (``meta["risk"]``)."""

    features: tuple[str, ...]
    scaler: Scaler
    numpy_lstm: NumpyLSTM
    variance_scale: float
    ratios: dict[str, float]

    def predict_variance(self, X: np.ndarray) -> np.ndarray:
        """Unscaled windows (n, window, F_risk) -> (n,) forecasts of the next bar's range variance."""
        return forecast_variance(self.numpy_lstm.predict(self.scaler.transform(X)), self.variance_scale)

    def ratio(self, symbol: str) -> float:
        """Range variance -> close-to-close variance for ``symbol`` (the mean ratio when unknown)."""
        if symbol in self.ratios:
            return self.ratios[symbol]
        return float(np.mean(list(self.ratios.values()))) if self.ratios else 1.0


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """What inference needs: the metadata, the training scaler and the NumPy forward pass of the
    return head, and the risk head when the model has one."""

    meta: dict
    scaler: Scaler
    numpy_lstm: NumpyLSTM
    risk: RiskHead | None = None

    @property
    def model_id(self) -> str:
        return self.meta["model_id"]

    @property
    def return_usable(self) -> bool:
        """The return head passed its gate (or was forced)."""
        return self.meta.get("status") == "active"

    @property
    def risk_usable(self) -> bool:
        """The risk head exists and passed its gate."""
        return self.risk is not None and self.meta.get("risk_status") == "active"

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Unscaled windows (n, window, F) -> (n,) next-return forecasts.

        The network was trained on targets divided by ``meta["target_scale"]`` (see
        ``bot.forecast.walkforward.target_scale``); its outputs are multiplied back here.
        """
        scale = float(self.meta.get("target_scale", 1.0))
        return self.numpy_lstm.predict(self.scaler.transform(X)) * scale


def data_hash(*arrays: np.ndarray) -> str:
    """sha256 over the dtype, shape and bytes of the training inputs (e.g. X_train, y_train)."""
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def new_model_id(created_at: datetime, *parts: str) -> str:
    """``YYYYmmddTHHMMSSZ-<8 hex>``: sortable by creation time; the hash of ``parts`` tells twins apart."""
    stamp = created_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{hashlib.sha256('|'.join(parts).encode()).hexdigest()[:8]}"


def config_key(
    timeframe: str, features: Sequence[str], window: int, volume_window: int, symbols: Sequence[str]
) -> str:
    """Names the configuration a model serves; models of other configurations are never swapped in.

    ``volume_window`` is part of it because it changes what the ``rel_volume`` input means.
    """
    spec = json.dumps([timeframe, list(features), window, volume_window, sorted(symbols)])
    return f"{timeframe}-w{window}-{hashlib.sha256(spec.encode()).hexdigest()[:12]}"


def library_versions() -> dict[str, str | None]:
    """Versions of the libraries a model depends on, read without importing them."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("tensorflow", "keras", "numpy", "pandas"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def make_meta(
    *,
    model_id: str,
    config: ModelConfig,
    timeframe: str,
    symbols: Sequence[str],
    scaler: Scaler,
    training_range: tuple[datetime, datetime],
    data_hash: str,
    metrics: Mapping[str, Any],
    status: str = "candidate",
    reason: str = "",
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """A complete meta dict for ``save_model`` (features, window and volume_window from ``config``)."""
    return {
        "model_id": model_id,
        "created_at": (created_at or datetime.now(UTC)).isoformat(),
        "features": list(config.features),
        "window": config.window,
        "volume_window": config.volume_window,
        "timeframe": timeframe,
        "symbols": list(symbols),
        "scaler": scaler.to_dict(),
        "training_range": {"first": training_range[0].isoformat(), "last": training_range[1].isoformat()},
        "data_hash": data_hash,
        "metrics": dict(metrics),
        "status": status,
        "reason": reason,
        "config": dataclasses.asdict(config),
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):  # pandas Timestamps included
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, tuple, set, frozenset)):
        return list(value.tolist() if isinstance(value, np.ndarray) else value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dump(data: Mapping) -> bytes:
    return (json.dumps(data, indent=2, default=_json_default) + "\n").encode()


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialise read-modify-write of registry files between processes (no-op where flock is absent)."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: the atomic rename still protects readers
        yield
        return
    with open(directory / ".registry.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _folder(directory: str | Path, model_id: str) -> Path:
    if not model_id or model_id != Path(model_id).name or model_id.startswith("."):
        raise ModelError(f"invalid model id {model_id!r}")
    return Path(directory) / model_id


def save_model(
    directory: str | Path,
    model: Any,
    numpy_lstm: NumpyLSTM,
    meta: Mapping[str, Any],
    *,
    risk_model: Any = None,
    risk_numpy: NumpyLSTM | None = None,
) -> Path:
    """Write ``<directory>/<meta['model_id']>/`` and return it; the folder appears complete or not at all.

    ``meta`` must hold every key of ``REQUIRED_META``; library versions are added. ``model`` and
    ``risk_model`` may be None to store only the TensorFlow-free artifacts. ``risk_numpy`` needs
    ``meta["risk"]`` (its features, scaler and scales).
    """
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise ValueError(f"meta lacks keys {missing}")
    if meta["status"] not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {meta['status']!r}")
    if numpy_lstm.n_features != len(meta["features"]):
        n_meta = len(meta["features"])
        raise ValueError(f"the weights take {numpy_lstm.n_features} features but meta lists {n_meta}")
    model_id = str(meta["model_id"])
    final = _folder(directory, model_id)
    if final.exists():
        raise ModelError(f"model {model_id} already exists in {directory}")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{model_id}.", suffix=".tmp"))
    try:
        full = {**meta, "versions": {**library_versions(), **dict(meta.get("versions", {}))}}
        (tmp / META_FILE).write_bytes(_dump(full))
        np.savez(tmp / WEIGHTS_FILE, **numpy_lstm.to_arrays())
        if model is not None:
            model.save(tmp / KERAS_FILE)
        if risk_numpy is not None:
            if risk_numpy.n_features != len(meta["risk"]["features"]):
                raise ValueError("the risk weights' features do not match meta['risk']['features']")
            np.savez(tmp / RISK_WEIGHTS_FILE, **risk_numpy.to_arrays())
        if risk_model is not None:
            risk_model.save(tmp / RISK_KERAS_FILE)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _read_meta(folder: Path, model_id: str) -> dict:
    path = folder / META_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"model {model_id}: {path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"model {model_id}: {path} is corrupt (not valid JSON: {exc})") from None
    if not isinstance(meta, dict):
        raise ModelError(f"model {model_id}: {path} is corrupt (expected a JSON object)")
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise ModelError(f"model {model_id}: {path} is corrupt (missing keys: {', '.join(missing)})")
    if meta["model_id"] != model_id:
        raise ModelError(f"model {model_id}: {path} belongs to model {meta['model_id']!r}")
    for key, expected, ok in _META_TYPES:
        if key in meta and not ok(meta[key]):
            raise ModelError(
                f"model {model_id}: {path} is corrupt ({key} must be {expected}, got {meta[key]!r:.60})"
            )
    return meta


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _positive_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and value == value
        and 0 < value < 1e300
    )


#: (key, what it must be, check) for every meta.json field inference reads: a mistyped field is a
#: one-line ModelError on load, never a traceback later (e.g. inside a daemon job)
_META_TYPES: tuple[tuple[str, str, Any], ...] = (
    ("model_id", "a string", lambda v: isinstance(v, str)),
    ("features", "a list of feature names", lambda v: _strings(v) and len(v) > 0),
    ("window", "a whole number > 0", _whole),
    ("volume_window", "a whole number > 0", _whole),
    ("timeframe", "a string", lambda v: isinstance(v, str)),
    ("symbols", "a list of symbols", _strings),
    ("scaler", "an object", lambda v: isinstance(v, dict)),
    ("training_range", "an object", lambda v: isinstance(v, dict)),
    ("metrics", "an object", lambda v: isinstance(v, dict)),
    ("status", f"one of {STATUSES}", lambda v: v in STATUSES),
    ("reason", "a string", lambda v: isinstance(v, str)),
    ("config", "an object", lambda v: isinstance(v, dict)),
    ("target_scale", "a number > 0", _positive_number),
    ("config_key", "a string", lambda v: isinstance(v, str)),
    ("risk", "an object", lambda v: isinstance(v, dict)),
    ("risk_status", "'active' or 'rejected'", lambda v: v in ("active", "rejected")),
    ("risk_reason", "a string", lambda v: isinstance(v, str)),
)


def load_model(
    directory: str | Path,
    model_id: str,
    expected_features: Sequence[str],
    expected_window: int,
    expected_volume_window: int | None = None,
) -> LoadedModel:
    """Load a model for inference without TensorFlow; ModelError when it is unusable for this config."""
    folder = _folder(directory, model_id)
    if not folder.is_dir():
        raise ModelError(f"model {model_id} not found in {directory}")
    meta = _read_meta(folder, model_id)
    features, expected = list(meta["features"]), list(expected_features)
    if features != expected:
        raise ModelError(
            f"model {model_id} was trained on features {features} but the config asks for {expected}"
        )
    if meta["window"] != expected_window:
        raise ModelError(
            f"model {model_id} was trained on {meta['window']}-bar windows "
            f"but the config asks for {expected_window}"
        )
    if expected_volume_window is not None and meta["volume_window"] != expected_volume_window:
        raise ModelError(
            f"model {model_id} was trained with volume_window {meta['volume_window']} "
            f"but the config asks for {expected_volume_window}"
        )
    try:
        scaler = Scaler.from_dict(meta["scaler"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"model {model_id}: meta.json has an unusable scaler ({exc})") from None
    net = _load_weights(folder / WEIGHTS_FILE, model_id)
    if net.n_features != len(features) or len(scaler.mean) != len(features):
        raise ModelError(
            f"model {model_id}: weights take {net.n_features} features and the scaler "
            f"{len(scaler.mean)}, but meta.json lists {len(features)}"
        )
    return LoadedModel(meta, scaler, net, _load_risk(folder, meta, model_id))


def _load_weights(path: Path, model_id: str) -> NumpyLSTM:
    if not path.is_file():
        raise ModelError(f"model {model_id}: {path} is missing")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return NumpyLSTM.from_arrays({name: archive[name] for name in archive.files})
    except Exception as exc:  # a damaged zip raises BadZipFile, OSError, EOFError, ValueError, KeyError...
        raise ModelError(f"model {model_id}: {path} is corrupt ({type(exc).__name__}: {exc})") from None


def _load_risk(folder: Path, meta: dict, model_id: str) -> RiskHead | None:
    """The risk head, or None for a model trained before risk heads existed."""
    spec = meta.get("risk")
    if spec is None or not (folder / RISK_WEIGHTS_FILE).is_file():
        return None
    try:
        head = RiskHead(
            features=tuple(spec["features"]),
            scaler=Scaler.from_dict(spec["scaler"]),
            numpy_lstm=_load_weights(folder / RISK_WEIGHTS_FILE, model_id),
            variance_scale=float(spec["variance_scale"]),
            ratios={str(k): float(v) for k, v in spec["return_variance_ratio"].items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"model {model_id}: meta.json has an unusable risk head ({exc})") from None
    n = len(head.features)
    if head.numpy_lstm.n_features != n or len(head.scaler.mean) != n:
        raise ModelError(f"model {model_id}: the risk weights do not match its {n} features")
    if not (np.isfinite(head.variance_scale) and head.variance_scale > 0):
        raise ModelError(f"model {model_id}: the risk head's variance scale must be finite and > 0")
    return head


def _read_active(directory: Path) -> dict[str, str]:
    path = directory / ACTIVE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path} is corrupt (not valid JSON: {exc})") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ModelError(f"{path} is corrupt (expected an object mapping config keys to model ids)")
    return data


def read_meta(directory: str | Path, model_id: str) -> dict:
    """A model's meta.json (ModelError when missing or corrupt)."""
    return _read_meta(_folder(directory, model_id), model_id)


def latest_model_id(directory: str | Path, key: str) -> str | None:
    """The newest model saved for config ``key`` (any status); unreadable folders are skipped."""
    directory = Path(directory)
    best: tuple[str, str] | None = None
    for meta_path in directory.glob(f"*/{META_FILE}"):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (
            isinstance(meta, dict)
            and meta.get("config_key") == key
            and meta_path.parent.name == meta.get("model_id")
        ):
            candidate = (str(meta.get("created_at", "")), meta["model_id"])
            best = max(best, candidate) if best else candidate
    return best[1] if best else None


def active_model_id(directory: str | Path, key: str) -> str | None:
    """The model id serving config ``key``, or None when none was activated."""
    return _read_active(Path(directory)).get(key)


def _mark(directory: Path, model_id: str, status: str, reason: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    folder = _folder(directory, model_id)
    if not folder.is_dir():
        raise ModelError(f"model {model_id} not found in {directory}")
    meta = _read_meta(folder, model_id)
    meta.update(status=status, reason=reason)
    atomic_write(folder / META_FILE, _dump(meta))


def mark(directory: str | Path, model_id: str, status: str, reason: str) -> None:
    """Set a model's status ("active" | "rejected" | "candidate") and the reason, atomically."""
    with _locked(Path(directory)):
        _mark(Path(directory), model_id, status, reason)


def set_active(
    directory: str | Path, key: str, model_id: str, reason: str = "", status: str = "active"
) -> None:
    """Point config ``key`` at ``model_id``; other keys are untouched.

    ``status`` is the return head's verdict written with it: "rejected" for a model that serves
    its configuration through its risk head alone (one write, so no reader sees it active).

    ``active.json`` is the source of truth and is replaced atomically, under a lock so that two
    processes activating different keys do not lose each other's update. Then the model is marked
    "active" and the one it replaces (if any) goes back to "candidate" ("replaced by <id>").
    """
    directory = Path(directory)
    with _locked(directory):
        folder = _folder(directory, model_id)
        if not folder.is_dir():
            raise ModelError(f"model {model_id} not found in {directory}")
        _read_meta(folder, model_id)  # never point at a model whose metadata is unreadable
        pointers = _read_active(directory)
        previous = pointers.get(key)
        pointers[key] = model_id
        atomic_write(directory / ACTIVE_FILE, _dump(pointers))
        _mark(directory, model_id, status, reason)
        if previous and previous != model_id and _folder(directory, previous).is_dir():
            _mark(directory, previous, "candidate", f"replaced by {model_id}")
