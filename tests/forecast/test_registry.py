"""The model registry: TensorFlow-free round trip, clear errors for broken models, per-key active pointer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from bot.config import PRICE_FEATURES, ModelConfig
from bot.errors import ModelError
from bot.forecast import registry
from bot.forecast.features import Scaler
from bot.forecast.numpy_lstm import NumpyLSTM
from bot.forecast.registry import (
    active_model_id,
    config_key,
    data_hash,
    load_model,
    make_meta,
    mark,
    new_model_id,
    save_model,
    set_active,
)

REPO = Path(__file__).resolve().parents[2]
CONFIG = ModelConfig(features=PRICE_FEATURES, window=6, volume_window=5, units=4, dropout=0.0, seed=3)
FEATURES = list(PRICE_FEATURES)


@pytest.fixture(scope="module")
def keras_model():
    from bot.forecast.lstm import build_model

    model = build_model(len(FEATURES), CONFIG)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def meta_for(model_id: str, status: str = "candidate") -> dict:
    rng = np.random.default_rng(1)
    scaler = Scaler.fit(rng.normal(0.01, 0.02, (50, 3)), FEATURES)
    first, last = datetime(2024, 1, 2, tzinfo=UTC), datetime(2025, 6, 30, tzinfo=UTC)
    return make_meta(
        model_id=model_id,
        config=CONFIG,
        timeframe="1Day",
        symbols=["AAPL", "MSFT"],
        scaler=scaler,
        training_range=(first, last),
        data_hash=data_hash(np.arange(5.0)),
        metrics={"val_mse": np.float32(0.5)},
        status=status,
    )


def save(directory: Path, keras_model, model_id: str, with_keras: bool = False) -> Path:
    net = NumpyLSTM.from_keras(keras_model)
    return save_model(directory, keras_model if with_keras else None, net, meta_for(model_id))


def test_round_trip_without_tensorflow(tmp_path: Path, keras_model) -> None:
    model_id = new_model_id(datetime(2026, 1, 5, 14, 30, tzinfo=UTC), "abc")
    assert model_id.startswith("20260105T143000Z-") and len(model_id) == 25
    folder = save(tmp_path, keras_model, model_id, with_keras=True)
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "model.keras", "weights.npz"]
    assert [p.name for p in tmp_path.iterdir()] == [model_id]  # no temp folder left behind
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["versions"]["numpy"] == np.__version__ and meta["versions"]["tensorflow"]
    assert meta["metrics"] == {"val_mse": 0.5} and meta["config"]["units"] == 4
    assert meta["training_range"]["first"].startswith("2024-01-02")

    X = np.random.default_rng(5).normal(0, 0.02, (7, CONFIG.window, 3)).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    scaler = Scaler.from_dict(meta["scaler"])
    expected = keras_model.predict(scaler.transform(X), verbose=0)[:, 0]
    script = f"""
import json, sys
import numpy as np
from bot.forecast.registry import load_model
loaded = load_model({str(tmp_path)!r}, {model_id!r}, {FEATURES!r}, {CONFIG.window}, {CONFIG.volume_window})
import bot.forecast.lstm, bot.forecast.features  # importing the trainer must not load TensorFlow either
print(json.dumps({{"tf": "tensorflow" in sys.modules or "keras" in sys.modules,
                   "pred": loaded.predict(np.load({str(tmp_path / "X.npy")!r})).tolist(),
                   "status": loaded.meta["status"]}}))
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", script]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["tf"] is False and out["status"] == "candidate"
    np.testing.assert_allclose(out["pred"], expected, atol=1e-5, rtol=0)


def test_missing_and_corrupt_models(tmp_path: Path, keras_model) -> None:
    with pytest.raises(ModelError, match=f"model nope not found in {tmp_path}"):
        load_model(tmp_path, "nope", FEATURES, 6)

    folder = save(tmp_path, keras_model, "m-json")
    (folder / "meta.json").write_text('{"model_id": "m-json", ')
    with pytest.raises(ModelError, match=r"model m-json: .*meta.json is corrupt \(not valid JSON"):
        load_model(tmp_path, "m-json", FEATURES, 6)

    folder = save(tmp_path, keras_model, "m-keys")
    meta = json.loads((folder / "meta.json").read_text())
    del meta["scaler"], meta["window"]
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"meta.json is corrupt \(missing keys: window, scaler\)"):
        load_model(tmp_path, "m-keys", FEATURES, 6)

    folder = save(tmp_path, keras_model, "m-noweights")
    (folder / "weights.npz").unlink()
    with pytest.raises(ModelError, match=r"model m-noweights: .*weights.npz is missing"):
        load_model(tmp_path, "m-noweights", FEATURES, 6)

    folder = save(tmp_path, keras_model, "m-badweights")
    (folder / "weights.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelError, match=r"model m-badweights: .*weights.npz is corrupt"):
        load_model(tmp_path, "m-badweights", FEATURES, 6)

    with pytest.raises(ModelError) as info:
        save(tmp_path, keras_model, "m-json")
    assert "already exists" in str(info.value) and info.value.exit_code == 2


def test_mismatched_config_is_refused(tmp_path: Path, keras_model) -> None:
    save(tmp_path, keras_model, "m1")
    asked = ["ret", "range", "sent_mean"]
    with pytest.raises(ModelError) as info:
        load_model(tmp_path, "m1", asked, 6)
    assert str(info.value) == (
        "model m1 was trained on features ['ret', 'range', 'rel_volume'] "
        "but the config asks for ['ret', 'range', 'sent_mean']"
    )
    with pytest.raises(ModelError, match="model m1 was trained on 6-bar windows but the config asks for 20"):
        load_model(tmp_path, "m1", FEATURES, 20)
    with pytest.raises(ModelError, match="volume_window 5 but the config asks for 30"):
        load_model(tmp_path, "m1", FEATURES, 6, 30)
    assert load_model(tmp_path, "m1", tuple(FEATURES), 6, 5).model_id == "m1"


def test_active_pointer_is_per_key_and_marks_status(tmp_path: Path, keras_model) -> None:
    for model_id in ("m1", "m2", "m3"):
        save(tmp_path, keras_model, model_id)
    daily = config_key("1Day", FEATURES, 6, 5, ["MSFT", "AAPL"])
    assert daily == config_key("1Day", FEATURES, 6, 5, ["AAPL", "MSFT"])  # symbol order does not matter
    hourly = config_key("1Hour", FEATURES, 6, 5, ["AAPL", "MSFT"])
    assert daily != hourly and daily.startswith("1Day-w6-")
    assert active_model_id(tmp_path, daily) is None

    set_active(tmp_path, daily, "m1")
    set_active(tmp_path, hourly, "m2")
    assert (active_model_id(tmp_path, daily), active_model_id(tmp_path, hourly)) == ("m1", "m2")
    set_active(tmp_path, daily, "m3", reason="forced by --force")
    assert (active_model_id(tmp_path, daily), active_model_id(tmp_path, hourly)) == ("m3", "m2")
    status = {m: load_model(tmp_path, m, FEATURES, 6).meta for m in ("m1", "m2", "m3")}
    assert (status["m1"]["status"], status["m1"]["reason"]) == ("candidate", "replaced by m3")
    assert (status["m3"]["status"], status["m3"]["reason"]) == ("active", "forced by --force")
    assert json.loads((tmp_path / "active.json").read_text()) == {daily: "m3", hourly: "m2"}

    mark(tmp_path, "m1", "rejected", "MSE not better than the zero forecast")
    assert load_model(tmp_path, "m1", FEATURES, 6).meta["reason"] == "MSE not better than the zero forecast"
    with pytest.raises(ValueError, match="status must be one of"):
        mark(tmp_path, "m1", "retired", "")
    with pytest.raises(ModelError, match="model ghost not found"):
        set_active(tmp_path, daily, "ghost")
    assert active_model_id(tmp_path, daily) == "m3"


def test_active_pointer_write_is_atomic(tmp_path: Path, keras_model, monkeypatch: pytest.MonkeyPatch) -> None:
    for model_id in ("m1", "m2"):
        save(tmp_path, keras_model, model_id)
    key = config_key("1Day", FEATURES, 6, 5, ["AAPL"])
    set_active(tmp_path, key, "m1")
    before = (tmp_path / "active.json").read_bytes()

    real_replace = os.replace

    def crash(src, dst):  # the process dies between writing the temp pointer file and renaming it
        if Path(dst).name == "active.json":
            raise OSError("disk gone")
        real_replace(src, dst)

    monkeypatch.setattr(registry.os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        set_active(tmp_path, key, "m2")
    monkeypatch.undo()
    assert (tmp_path / "active.json").read_bytes() == before  # old pointer intact, never half-written
    assert not [p for p in tmp_path.rglob("*.tmp")]  # and no temp file left behind
    assert active_model_id(tmp_path, key) == "m1"
    assert load_model(tmp_path, "m2", FEATURES, 6).meta["status"] == "candidate"  # status follows the pointer

    (tmp_path / "active.json").write_text("{broken")
    with pytest.raises(ModelError, match="active.json is corrupt"):
        active_model_id(tmp_path, key)


def test_model_ids_cannot_escape_the_models_dir(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="invalid model id"):
        load_model(tmp_path, "../elsewhere", FEATURES, 6)


def test_save_refuses_incomplete_meta(tmp_path: Path, keras_model) -> None:
    meta = meta_for("m1")
    del meta["data_hash"]
    with pytest.raises(ValueError, match="data_hash"):
        save_model(tmp_path, None, NumpyLSTM.from_keras(keras_model), meta)


@pytest.mark.parametrize(
    "field, value",
    [
        ("window", "6"),
        ("features", "ret,range"),
        ("volume_window", 0),
        ("target_scale", "big"),
        ("status", "ACTIVE"),
        ("risk", []),
        ("symbols", [1, 2]),
        ("scaler", None),
    ],
)
def test_a_mistyped_meta_field_is_a_one_line_model_error(tmp_path: Path, keras_model, field, value) -> None:
    model_id = new_model_id(datetime(2026, 1, 5, tzinfo=UTC), field)
    folder = save(tmp_path, keras_model, model_id)
    meta = json.loads((folder / "meta.json").read_text())
    meta[field] = value
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=rf"is corrupt \({field} must be"):
        load_model(tmp_path, model_id, FEATURES, CONFIG.window, CONFIG.volume_window)
