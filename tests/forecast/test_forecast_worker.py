"""The evaluation report drawn by the forked worker is the report drawn in process, byte for byte,
and a worker that fails loses nothing (bot.report.forecast_worker)."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from bot.report import forecast_worker

REPO = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: one thread and no TensorFlow, so the worker can be forked.
REPORT = """
import json, sys
from pathlib import Path
import numpy as np, pandas as pd
from bot.report import forecast_worker
from bot.report.forecast_report import warm_up, write_forecast_report

worker = forecast_worker.start(warm_up)
assert worker is not None
assert "matplotlib" not in sys.modules  # the worker loads it, not this process

from bot.config import ModelConfig
from bot.forecast.features import build_dataset
from bot.forecast.walkforward import walk_forward

def bars(seed, n=700):
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01 + 0.01 * (np.arange(n) % 200 < 40), n)))
    open_ = np.concatenate([[50.0], close[:-1]])
    spread = np.abs(rng.normal(0, 0.01, n)) + 1e-3
    index = pd.date_range("2010-01-04", periods=n, freq="B", tz="UTC").rename("ts")
    return pd.DataFrame({"open": open_, "high": np.maximum(open_, close) * (1 + spread),
                         "low": np.minimum(open_, close) * (1 - spread), "close": close,
                         "volume": rng.lognormal(10, 0.3, n)}, index=index)

config = ModelConfig(features=("ret",), risk_features=("log_rv", "ret"), window=8, volume_window=5,
                     units=4, dropout=0.1, epochs=2, train_bars=400, test_bars=200, seed=5)
data = build_dataset({"A": bars(1), "B": bars(2)}, ("ret", "log_rv"), config.window, config.volume_window)
evaluation = walk_forward(data, config)
out = Path(sys.argv[1])
by_worker = write_forecast_report(evaluation.summary(), evaluation, out / "worker", worker)
in_process = write_forecast_report(evaluation.summary(), evaluation, out / "here")
print(json.dumps({"worker": sorted(Path(p).name for p in by_worker.values()),
                  "here": sorted(Path(p).name for p in in_process.values()),
                  "alive": worker._process.is_alive()}))
"""

# A worker whose job fails answers False and the caller runs the jobs itself; jobs after the
# first run in children of the worker, and what they write arrives.
FAILING = """
import json, sys
from pathlib import Path
from bot.report import forecast_worker

out = Path(sys.argv[1])
fine = forecast_worker.start(lambda: None)
ok = fine.draw([(Path.write_text, (out / "first.txt", "1")), (Path.write_text, (out / "second.txt", "2"))])
failing = forecast_worker.start(lambda: None)
bad = failing.draw([(Path.write_text, (out / "third.txt", "3")), (int, ("not a number",))])
unused = forecast_worker.start(lambda: None)
unused.close()  # a run that ended without a report: the worker ends too
print(json.dumps({"ok": ok, "bad": bad, "unused_alive": unused._process.is_alive(),
                  "files": sorted(p.name for p in out.iterdir())}))
"""


def _run(script: str, folder: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_worker_draws_the_report_drawn_in_process(tmp_path: Path) -> None:
    out = _run(REPORT, tmp_path)
    assert out["worker"] == out["here"]
    names = {"predictions.csv", "predicted_vs_realised.png", "cumulative_returns.png", "folds.png"}
    assert names | {"volatility.csv", "volatility.png", "vol_books.png"} == set(out["worker"])
    assert out["alive"] is False  # ended after its one batch of jobs
    for name in out["worker"]:  # every file the same bytes (figures and CSVs)
        assert (tmp_path / "worker" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name
    worker_json = json.loads((tmp_path / "worker" / "metrics.json").read_text())
    here_json = json.loads((tmp_path / "here" / "metrics.json").read_text())
    worker_json.pop("files"), here_json.pop("files")  # their own folders
    assert worker_json == here_json


def test_a_failing_job_is_reported_and_the_others_still_run(tmp_path: Path) -> None:
    out = _run(FAILING, tmp_path)
    assert out["ok"] is True
    assert out["bad"] is False  # the caller then draws in process
    assert out["unused_alive"] is False
    assert out["files"] == ["first.txt", "second.txt", "third.txt"]
    assert (tmp_path / "second.txt").read_text() == "2"  # written by the worker's child


def test_no_worker_while_another_thread_runs() -> None:
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not forecast_worker.fork_is_safe()
        assert forecast_worker.start(lambda: None) is None
    finally:
        release.set()
        other.join()


def test_only_python_m_bot_counts_as_a_process_that_ends_with_the_command() -> None:
    from bot.commands.evaluate import _process_ends_here

    assert _process_ends_here() is False  # pytest goes on after a command: nothing frozen here
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # what `python -m bot` sets: the __main__ module's spec is bot.__main__'s
    probe = "import sys, bot.__main__ as m; sys.modules['__main__'].__spec__ = m.__spec__; "
    probe += "from bot.commands.evaluate import _process_ends_here as e; print(e())"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=REPO)
    assert done.stdout.strip() == "True", done.stderr
