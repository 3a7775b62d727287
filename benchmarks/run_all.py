"""Speed benchmarks (not tests): simulation throughput, CLI start-up time and the whole
``evaluate`` command (``evaluate_bench.py``: wall time, peak memory, same seed same figures).

Run: ``.venv/bin/python benchmarks/run_all.py [--repeat N]``. Prints a Markdown table (medians of
N runs, measured side by side in this one process) and writes it to benchmarks/results.md.
Needs ../shared/data for the real-data rows (they are skipped, with a note, when it is absent).
Then runs ``sim_vs_backtesting.py`` (ours against backtesting.py on the same bars and rule, and
the whole ``simulate`` command), which writes benchmarks/sim_results.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"

from bot.config import Config, override  # noqa: E402
from bot.data.sources import make_feed  # noqa: E402
from bot.engine.simulation import run_simulation  # noqa: E402
from bot.journal.store import open_journal  # noqa: E402
from bot.logging import configure_logging  # noqa: E402


def simulate_once(config: Config) -> tuple[float, int, float]:
    """(seconds, bars, journal seconds) of one in-process simulation with a fresh journal."""
    with tempfile.TemporaryDirectory() as tmp:
        journal = open_journal(Path(tmp) / "j.sqlite", batch_size=config.journal.batch_size)
        feed = make_feed(config)  # a fresh feed: file reading is part of the measured time
        started = time.perf_counter()
        result = run_simulation(config, feed, journal, "bench", progress=False)
        elapsed = time.perf_counter() - started
        journal.close()
    return elapsed, result.bars, result.journal_seconds


def throughput_rows(repeat: int) -> list[str]:
    base = override(Config(), "strategy", "bench", name="sma_cross")
    cases = [("sample market, 5 symbols, 1Day, sma_cross, with headlines (2021-2023)", base)]
    cases.append(
        (
            "sample market, 5 symbols, 1Min, sma_cross (20 sessions)",
            override(base, "data", "bench", timeframe="1Min"),
        )
    )
    if SHARED.exists():
        daily = override(base, "data", "bench", source=f"csv:{SHARED / 'daily'}")
        cases.append(("all 7 daily CSVs (2013-2023), sma_cross", daily))
        minute = override(
            base, "data", "bench", source=f"csv:{SHARED / 'minute'}", symbols="SPY", timeframe="1Min"
        )
        cases.append(("SPY minute CSV (2021-07..08, regular session), sma_cross", minute))
    rows = []
    for label, config in cases:
        runs = [simulate_once(config) for _ in range(repeat)]
        seconds = statistics.median(r[0] for r in runs)
        bars = runs[0][1]
        journal_share = statistics.median(r[2] / r[0] for r in runs)
        rows.append(
            f"| {label} | {bars:,} | {seconds:.3f} s | {bars / seconds:,.0f} | {100 * journal_share:.0f}% |"
        )
    return rows


def startup_rows(repeat: int) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "c.toml"
        cfg.write_text(f'[journal]\npath = "{Path(tmp) / "j.sqlite"}"\n')
        commands = {
            "python -c pass (interpreter alone, for scale)": [sys.executable, "-c", "pass"],
            "python -m bot --help": [sys.executable, "-m", "bot", "--help"],
            "python -m bot status": [sys.executable, "-m", "bot", "status", "--config", str(cfg)],
        }
        timings: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(repeat):  # interleaved, so machine noise hits every command alike
            for name, argv in commands.items():
                started = time.perf_counter()
                subprocess.run(argv, env=env, cwd=REPO, capture_output=True, check=True)
                timings[name].append(time.perf_counter() - started)
    return [f"| {name} | {statistics.median(t) * 1000:.0f} ms |" for name, t in timings.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--evaluate-repeat", type=int, default=3, help="evaluate runs (minutes each; 0 skips them)"
    )
    parser.add_argument(
        "--dashboard", action="store_true", help="also run dashboard_bench.py (a year of minute bars)"
    )
    args = parser.parse_args()
    configure_logging(None, level="error", console=False)
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"median of {args.repeat} runs.",
        "",
        "| simulation | bars | time | bars/s | journaling share |",
        "|---|---|---|---|---|",
        *throughput_rows(args.repeat),
        "",
        "| start-up | median wall time |",
        "|---|---|",
        *startup_rows(max(args.repeat, 7)),
    ]
    if not SHARED.exists():
        lines.append("\n(../shared/data absent: the real-data rows were skipped)")
    text = "\n".join(lines)
    print(text)
    (REPO / "benchmarks" / "results.md").write_text(text + "\n")
    try:
        import backtesting  # noqa: F401  (the test extra)
    except ImportError:
        print("\nbacktesting.py is not installed (pip install -e '.[test]'): sim_vs_backtesting skipped")
    else:
        sys.path.insert(0, str(REPO / "benchmarks"))
        import sim_vs_backtesting

        print()
        sim_vs_backtesting.main(["--repeat", str(args.repeat)])
    if args.evaluate_repeat > 0:  # its own results file: evaluate_results.md
        import evaluate_bench

        print("\n" + "\n".join(evaluate_bench.run(args.evaluate_repeat, baseline=None)))
    if args.dashboard:  # its own process and results file (benchmarks/dashboard_results.md)
        subprocess.run(
            [sys.executable, str(REPO / "benchmarks" / "dashboard_bench.py")], cwd=REPO, check=True
        )


if __name__ == "__main__":
    main()
