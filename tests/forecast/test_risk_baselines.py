"""The risk baselines computed in a forked child are the ones computed in place, bit for bit, and
the walk-forward's figures do not depend on where they ran (bot.forecast.risk_baselines)."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from bot.forecast import risk_baselines

REPO = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: one thread and no TensorFlow, so the walk-forward forks its child.
SCRIPT = """
import dataclasses, json, sys
import numpy as np, pandas as pd
from bot.config import ModelConfig
from bot.forecast import risk_baselines
from bot.forecast.features import build_dataset
from bot.forecast.walkforward import fold_indices, walk_forward

def bars(seed, n=900):
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
view = data.select(config.risk_features)
folds = dict(enumerate(fold_indices(data, config)))
assert risk_baselines.fork_is_safe()
side = risk_baselines.start(view, folds)
assert side is not None
same = []
for index, (train, test) in folds.items():
    here = risk_baselines.risk_baselines(view.take(train), view.take(test))
    child = side.result(index)
    same.append(all(np.array_equal(here[k], child[k]) for k in ("har", "garch")) and set(here) == set(child))
side.close()

started = []
start = risk_baselines.start
risk_baselines.start = lambda *a: started.append(start(*a)) or started[-1]
forked = walk_forward(data, config).summary()  # TensorFlow not loaded yet: the child computes them
in_threads = walk_forward(data, config).summary()  # TensorFlow loaded now: computed on the threads
print(json.dumps({"folds": len(folds), "same": same, "forked": [s is not None for s in started],
                  "identical": json.dumps(forked, sort_keys=True) == json.dumps(in_threads, sort_keys=True),
                  "garch": forked["volatility"]["baselines"]["garch"]["qlike"]}))
"""


def _run(script: str) -> dict:
    """Run ``script`` in a fresh interpreter (forking needs one without TensorFlow's threads);
    its last line of output, as JSON."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_child_computes_what_the_threads_compute() -> None:
    out = _run(SCRIPT)
    assert out["folds"] >= 2
    assert out["same"] == [True] * out["folds"]  # every fold's HAR and GARCH, bit for bit
    assert out["forked"] == [True, False]  # the first walk-forward forked, the second could not
    assert out["identical"] is True  # the same JSON either way
    assert np.isfinite(out["garch"])


def test_no_fork_while_another_thread_runs() -> None:
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not risk_baselines.fork_is_safe()
        assert risk_baselines.start(object(), {0: (np.arange(3), np.arange(3, 5))}) is None
    finally:
        release.set()
        other.join()


def test_the_child_gets_a_few_columns_not_the_windows() -> None:
    class View:
        har = np.arange(30.0).reshape(10, 3)
        y_var = np.arange(10.0)
        symbols = np.array(["A", "B"] * 5)
        position = np.arange(10)
        returns = {"A": np.zeros(12), "B": np.ones(12)}
        X = np.zeros((10, 20, 11))

    train, test = risk_baselines.inputs(View(), np.arange(6), np.arange(6, 10))
    assert not hasattr(train, "X") and not hasattr(test, "X")
    np.testing.assert_array_equal(train.y_var, np.arange(6.0))
    np.testing.assert_array_equal(test.har, View.har[6:])
    assert list(test.symbols) == ["A", "B", "A", "B"] and test.returns is View.returns


# The worker forked first thing (before the data exists) computes the same forecasts, and a
# walk-forward leaves it running for its owner.
POOL = (
    SCRIPT.split("view = data.select")[0].replace(
        "config = ModelConfig(",
        "pool = risk_baselines.pool()\nassert pool is not None\nconfig = ModelConfig(",
    )
    + """
view = data.select(config.risk_features)
folds = dict(enumerate(fold_indices(data, config)))
side = risk_baselines.start(view, folds, pool)
same = []
for index, (train, test) in folds.items():
    here = risk_baselines.risk_baselines(view.take(train), view.take(test))
    child = side.result(index)
    same.append(all(np.array_equal(here[k], child[k]) for k in ("har", "garch")) and set(here) == set(child))
side.close()
still_running = pool.submit(sum, [1, 2]).result() == 3
forked = walk_forward(data, config, baselines_pool=pool).summary()
alone = walk_forward(data, config).summary()  # TensorFlow loaded now: computed on the threads
pool.shutdown()
print(json.dumps({"folds": len(folds), "same": same, "still_running": still_running,
                  "identical": json.dumps(forked, sort_keys=True) == json.dumps(alone, sort_keys=True)}))
"""
)


def test_a_pool_forked_first_computes_what_the_threads_compute() -> None:
    out = _run(POOL)
    assert out["folds"] >= 2
    assert out["same"] == [True] * out["folds"]  # every fold's HAR and GARCH, bit for bit
    assert out["still_running"] is True  # closing the walk-forward's jobs left the pool to its owner
    assert out["identical"] is True  # the same JSON as computed on the threads


def test_no_pool_while_another_thread_runs() -> None:
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert risk_baselines.pool() is None
    finally:
        release.set()
        other.join()
