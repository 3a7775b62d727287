"""Forecaster benchmarks (not tests): on the 7 daily symbols, the whole ``evaluate`` command's wall
time, walk-forward and final training time of both heads, single-decision latency with both heads
(1 and 10 symbols, p50/p99) and batched inference throughput.

Run: ``.venv/bin/python benchmarks/forecast_bench.py``. Needs ../shared/data/daily (the latency and
throughput rows run on the sample market when it is absent). Writes benchmarks/forecast_results.md.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"

from bot.config import PRICE_FEATURES, RISK_FEATURES, Config, override  # noqa: E402
from bot.data.sources import make_feed  # noqa: E402
from bot.engine.simulation import load_history  # noqa: E402
from bot.forecast.features import build_dataset, union_features  # noqa: E402
from bot.logging import configure_logging  # noqa: E402


def percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(samples, q) * 1000)


def main() -> None:
    configure_logging(None, level="error", console=False)
    config = Config()
    if (SHARED / "daily").exists():
        config = override(config, "data", "bench", source=f"csv:{SHARED / 'daily'}")
    # CSV data has no news: price inputs only for both heads
    model_config = dataclasses.replace(
        config.model, features=PRICE_FEATURES, risk_features=RISK_FEATURES + PRICE_FEATURES
    )
    feed = make_feed(config)
    symbols, timeframe, frames = load_history(config, feed)
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"data: {feed.name}, {len(symbols)} symbols, {sum(len(f) for f in frames.values()):,} bars",
        "",
    ]

    from bot.forecast.training import train_and_register
    from bot.forecast.walkforward import walk_forward

    command_seconds = None
    if (SHARED / "daily").exists():  # the command as a user runs it: start-up, data, both heads, report
        import subprocess

        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "config.toml").write_text(
                f'[report]\ndir = "{tmp}/reports"\n[logging]\ndir = "{tmp}"\n'
                f'[journal]\npath = "{tmp}/j.sqlite"\n'
            )
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bot",
                    "evaluate",
                    "--config",
                    f"{tmp}/config.toml",
                    "--source",
                    f"csv:{SHARED / 'daily'}",
                    "--json",
                ],
                cwd=REPO,
                check=True,
                capture_output=True,
            )
            command_seconds = time.perf_counter() - started
    names = union_features(model_config.features, model_config.risk_features)
    dataset = build_dataset(frames, names, model_config.window, model_config.volume_window)
    started = time.perf_counter()
    evaluation = walk_forward(dataset, model_config, timeframe=timeframe.name)
    walk_seconds = time.perf_counter() - started
    summary = evaluation.summary()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        outcome = train_and_register(
            model_config,
            frames,
            None,
            models_dir=Path(tmp),
            timeframe=timeframe.name,
            symbols=symbols,
            summary=summary,
        )
        train_seconds = time.perf_counter() - started
        from bot.forecast.registry import load_model

        loaded = load_model(
            tmp, outcome.model_id, model_config.features, model_config.window, model_config.volume_window
        )
    lines += [
        "| step | time |",
        "|---|---|",
        *(
            [
                f"| `python -m bot evaluate --source csv:../shared/data/daily --json` (default config, all "
                f"features, both heads, report files; one run) | {command_seconds:.1f} s |"
            ]
            if command_seconds
            else []
        ),
        f"| walk-forward evaluation of both heads ({len(summary['folds'])} folds, {summary['n_test']:,} "
        f"test windows, price inputs) | {walk_seconds:.1f} s |",
        f"| final training of both heads on {len(dataset):,} windows (early stopping) | {train_seconds:.1f} s |",
        f"| risk head verdict | {outcome.risk_status} |",
        "",
    ]

    # a live decision: each symbol's newest window from the view's last bars (NumPy), one batched pass
    from bot.engine.market import MarketView
    from bot.forecast.forecaster import LiveForecaster

    if not loaded.risk_usable:  # time the risk head's path whatever its verdict was
        loaded.meta["risk_status"] = "active"
    if not loaded.return_usable:
        loaded.meta["status"] = "active"
    live = LiveForecaster(loaded)
    rows = []
    for n_symbols in (1, 10):
        view = MarketView(
            {f"{symbols[i % len(symbols)]}#{i}": frames[symbols[i % len(symbols)]] for i in range(n_symbols)}
        )
        for _ in range(len(view)):
            view.advance()
        timings = []
        for _ in range(1000):
            t0 = time.perf_counter()
            live.forecasts(view)
            live.volatility(view)
            timings.append(time.perf_counter() - t0)
        rows.append(
            f"| {n_symbols} | {percentile_ms(timings, 50):.2f} ms | {percentile_ms(timings, 99):.2f} ms |"
        )
    lines += [
        "| live decision, symbols (both heads: features + NumPy forward passes) | p50 | p99 |",
        "|---|---|---|",
        *rows,
        "",
    ]

    X = dataset.X
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        loaded.predict(dataset.select(model_config.features).X)
        runs.append(time.perf_counter() - t0)
    lines += [
        "| batched inference (NumPy) | windows/s |",
        "|---|---|",
        f"| {len(X):,} windows of {model_config.window} bars | {len(X) / float(np.median(runs)):,.0f} |",
    ]
    text = "\n".join(lines)
    print(text)
    (REPO / "benchmarks" / "forecast_results.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
