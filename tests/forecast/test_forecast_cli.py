"""train / evaluate / simulate --strategy lstm_sentiment through the real CLI, with a tiny model."""

import json
import sqlite3

import pytest

from testkit import TINY_MODEL, run_cli, write_config

# the pre-risk-head semantics: in only on a forecast gain past the hurdle
FLAT_BASE = """
[strategy.lstm_sentiment]
base = "flat"
"""
TRAIN_SPAN = ("--start", "2018-01-02", "--end", "2018-12-31")
SIM_SPAN = ("--start", "2019-01-02", "--end", "2019-06-28")


def cli_json(result):
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def one_line_error(result, *fragments):
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.fixture(scope="module")
def forced(tmp_path_factory):
    """A model trained on 2018 sample bars and forced active (whatever the gate says)."""
    tmp = tmp_path_factory.mktemp("forced")
    config = write_config(tmp, TINY_MODEL + FLAT_BASE)
    result = run_cli("train", "--config", str(config), *TRAIN_SPAN, "--force", "--json", cwd=tmp)
    return tmp, config, cli_json(result), result.stderr


def test_train_reports_and_registers_the_model(forced):
    tmp, _config, out, stderr = forced
    assert out["status"] == "active"
    for key in ("n_test", "folds", "model", "baselines", "dm_pvalue", "pt_pvalue", "model_id"):
        assert key in out
    assert set(out["baselines"]) == {"zero", "persistence", "mean", "linear"}
    meta = json.loads((tmp / "models" / out["model_id"] / "meta.json").read_text())
    assert meta["status"] == "active" and meta["features"] and meta["scaler"]["mean"]
    assert meta["training_range"]["last"] < "2019-01-01"
    if out["forced"]:  # the gate said no: --force must say so loudly
        assert "WARNING" in stderr and "FORCED" in meta["reason"]


def test_simulate_uses_the_active_model_and_journals_predictions(forced):
    tmp, config, out, _ = forced
    result = run_cli("simulate", "--config", str(config), *SIM_SPAN, "--json", cwd=tmp)
    summary = cli_json(result)
    assert summary["strategy"] == "lstm_sentiment"
    assert summary["model_id"] == out["model_id"] and summary["model_status"] == "active"
    assert summary["model_trained_now"] is False
    db = sqlite3.connect(tmp / "journal.sqlite")
    predictions = db.execute(
        "SELECT COUNT(*), COUNT(DISTINCT symbol) FROM predictions WHERE run_id = ? AND model = ?",
        (summary["run_id"], out["model_id"]),
    ).fetchone()
    assert predictions[0] > 100 and predictions[1] == 5
    # every entry was decided on a forecast above the cost hurdle made at that same close
    hurdle = 2 * 1e-4 + 5e-4
    rows = db.execute(
        "SELECT d.symbol, d.ts, p.value FROM decisions d JOIN predictions p ON p.run_id = d.run_id"
        " AND p.ts = d.ts AND p.symbol = d.symbol WHERE d.run_id = ? AND d.current_qty = 0 AND d.requested_qty > 0",
        (summary["run_id"],),
    ).fetchall()
    assert all(value > hurdle for _, _, value in rows)


def test_a_rejected_model_keeps_a_flat_base_flat(tmp_path):
    # no model can pass these gates
    config = write_config(tmp_path, TINY_MODEL + "gate_margin = 0.99\nrisk_gate_margin = 0.99\n" + FLAT_BASE)
    trained = cli_json(run_cli("train", "--config", str(config), *TRAIN_SPAN, "--json", cwd=tmp_path))
    assert trained["status"] == "rejected" and "does not beat zero-return" in trained["reason"]
    assert trained["risk_status"] == "rejected" and "does not beat EWMA" in trained["risk_reason"]
    summary = cli_json(run_cli("simulate", "--config", str(config), *SIM_SPAN, "--json", cwd=tmp_path))
    assert summary["model_status"] == "rejected" and summary["model_id"] == trained["model_id"]
    assert summary["risk_model_status"] == "rejected"
    assert summary["orders"] == 0 and summary["total_return"] == 0.0


def test_a_long_base_trades_a_volatility_managed_book_with_both_heads_rejected(tmp_path):
    """The default base: the return head's verdict does not stop the book; EWMA sizes it."""
    config = write_config(tmp_path, TINY_MODEL + "gate_margin = 0.99\nrisk_gate_margin = 0.99\n")
    trained = cli_json(run_cli("train", "--config", str(config), *TRAIN_SPAN, "--json", cwd=tmp_path))
    assert trained["status"] == "rejected" and trained["risk_status"] == "rejected"
    summary = cli_json(run_cli("simulate", "--config", str(config), *SIM_SPAN, "--json", cwd=tmp_path))
    assert summary["model_status"] == "rejected" and summary["risk_model_status"] == "rejected"
    assert summary["fills"] > 0 and summary["sized_by"] == "EWMA" and summary["turnover"] > 0
    assert summary["risk_verdicts"].get("allow", 0) > 0
    status = run_cli("status", "--config", str(config), "--json", cwd=tmp_path)
    model = json.loads(status.stdout)["last_run"]["model"]
    assert model["model_id"] == trained["model_id"] and model["risk_model_status"] == "rejected"
    assert "does not beat EWMA" in model["risk_model_reason"]
    text = run_cli("status", "--config", str(config), cwd=tmp_path).stdout
    assert "return head: REJECTED" in text and "risk head:   REJECTED" in text
    db = sqlite3.connect(tmp_path / "journal.sqlite")
    # neither head's forecasts are used, so none are journaled
    assert (
        db.execute("SELECT COUNT(*) FROM predictions WHERE run_id = ?", (summary["run_id"],)).fetchone()[0]
        == 0
    )


def test_the_sample_market_trains_a_model_on_the_fly_before_the_replay(tmp_path):
    config = write_config(tmp_path, TINY_MODEL)
    result = run_cli("simulate", "--config", str(config), *SIM_SPAN, "--json", cwd=tmp_path)
    summary = cli_json(result)
    assert "training one on the sample market's history" in result.stderr
    assert summary["model_trained_now"] is True
    meta = json.loads((tmp_path / "models" / summary["model_id"] / "meta.json").read_text())
    assert meta["training_range"]["last"] < "2019-01-02"  # never trained on the replayed period
    again = cli_json(run_cli("simulate", "--config", str(config), *SIM_SPAN, "--json", cwd=tmp_path))
    assert again["model_id"] == summary["model_id"] and again["model_trained_now"] is False


def test_evaluate_json_with_ablation(tmp_path):
    config = write_config(tmp_path, TINY_MODEL)
    out = cli_json(
        run_cli("evaluate", "--config", str(config), *TRAIN_SPAN, "--ablation", "--json", cwd=tmp_path)
    )
    assert out["n_test"] > 0 and len(out["folds"]) >= 2
    for name in ("zero", "persistence", "mean", "linear"):
        assert {"rmse", "mae", "directional_accuracy"} <= set(out["baselines"][name])
    assert 0 <= out["dm_pvalue"] <= 1 and 0 <= out["pt_pvalue"] <= 1
    assert out["ablation"]["price_only"]["n_test"] == out["n_test"]  # the same folds
    assert set(out["trading"]["10"]) == {"long_short", "long_only", "buy_and_hold"}
    v = out["volatility"]
    assert set(v["baselines"]) == {"ewma", "har", "garch"} and v["gate"] in ("active", "rejected")
    assert {"qlike", "rmse_log", "mz_r2"} <= set(v["model"]) and 0 <= v["dm_pvalue_vs_ewma"] <= 1
    assert 0 <= v["dm_pvalue_vs_har"] <= 1
    books = {(row["cost_bps"], row["book"]) for row in out["trading"]["vol_managed"]}
    assert books == {(c, b) for c in (0, 5, 10, 20) for b in ("lstm", "ewma", "buy_and_hold")}
    assert "volatility" in out["ablation"]["price_only"]  # both heads in the ablation
    for name in (
        "predictions.csv",
        "predicted_vs_realised.png",
        "cumulative_returns.png",
        "folds.png",
        "volatility.csv",
        "volatility.png",
        "vol_books.png",
    ):
        assert (
            tmp_path / "reports" / f"eval-{out['files']['metrics'].split('eval-')[1].split('/')[0]}" / name
        ).exists()


def test_bad_model_files_and_too_little_data_are_clear_errors(forced, tmp_path):
    _tmp, _config, out, _ = forced
    config = write_config(tmp_path, TINY_MODEL + f'dir = "{forced[0] / "models"}"\n')
    meta = forced[0] / "models" / out["model_id"] / "meta.json"
    original = meta.read_text()
    try:
        meta.write_text("{not json")
        one_line_error(run_cli("simulate", "--config", str(config), *SIM_SPAN, cwd=tmp_path), "corrupt")
        meta.write_text(original.replace('"window": 8', '"window": 9'))
        one_line_error(run_cli("simulate", "--config", str(config), *SIM_SPAN, cwd=tmp_path), "window")
    finally:
        meta.write_text(original)
    one_line_error(
        run_cli(
            "evaluate", "--config", str(config), "--start", "2018-01-02", "--end", "2018-03-30", cwd=tmp_path
        ),
        "too few",
    )


def test_constant_prices_are_a_clear_error(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rows = ["date,open,high,low,close,volume"] + [
        f"2020-{1 + d // 28:02d}-{1 + d % 28:02d},10,10,10,10,100" for d in range(300)
    ]
    (data / "FLAT.csv").write_text("\n".join(rows) + "\n")
    config = write_config(tmp_path, TINY_MODEL)
    one_line_error(
        run_cli("evaluate", "--config", str(config), "--source", f"csv:{data}", cwd=tmp_path), "FLAT"
    )


# what TensorFlow, absl, XLA, oneDNN and CUDA print on their own (issue 17's console)
TF_NOISE = (
    "absl::InitializeLog",
    "cuda drivers",
    "cuInit",
    "CUDA error",
    "oneDNN",
    "NodeDef mentions attribute",
    "cpu_feature_guard",
    "This TensorFlow binary",
    "I0000 ",
    "E0000 ",
    "W0000 ",
)


def test_training_prints_nothing_from_tensorflow_on_stderr(forced):
    _tmp, _config, out, stderr = forced
    assert out["model_id"]  # it did train (both heads, every fold)
    found = [line for line in stderr.splitlines() if any(noise in line for noise in TF_NOISE)]
    assert found == [], "\n".join(found)
    if out["forced"]:  # the bot's own lines stay
        assert "model_forced_active" in stderr


def test_only_tensorflows_lines_are_dropped():
    """What the import captured on fd 2 goes back minus TensorFlow's lines (the issue's examples)."""
    from bot.forecast.tensorflow_import import _not_noise

    captured = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1796387353.109127    4952 cudart_stub.cc:31] Could not find cuda drivers on your"
        " machine, GPU will not be used.\n"
        "E0000 00:00:1796387359.164691    4952 cuda_platform.cc:52] failed call to cuInit: INTERNAL\n"
        "2024-01-01 12:00:00.000000: I tensorflow/core/util/port.cc:153] oneDNN custom operations are"
        " on. You may see slightly different numerical results.\n"
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow\n"
        "fold 1/2: training on 2135 windows, testing 715\n"
        "2026-12-04T12:30:02Z [warning  ] bars_stale [bot.daemon.trader]\n"
    )
    assert _not_noise(captured) == [
        "fold 1/2: training on 2135 windows, testing 715\n",
        "2026-12-04T12:30:02Z [warning  ] bars_stale [bot.daemon.trader]\n",
    ]
