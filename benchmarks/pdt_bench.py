"""The pattern-day-trader guard on a long minute replay: as fast as with the guard off.

Run: ``.venv/bin/python benchmarks/pdt_bench.py [--repeat N]``. Writes ``pdt_results.md``.

The replay: the synthetic sample market, 5 symbols, 1Min bars, 120 sessions (about 235,000
bars), ``sma_cross`` 2/5 so the book opens and closes positions within the day thousands of times.
Equity stays above $25,000, so the guard records every day trade but never refuses one: both
runs make the same trades and the timing compares the guard's bookkeeping alone. On and off runs
alternate (machine noise hits both alike); the table gives medians and their ratio. A second
table times one check with 20,000 day trades recorded, the case that took 88 ms before the list
was pruned.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.broker.base import Side  # noqa: E402
from bot.config import Config, load_config  # noqa: E402
from bot.data.sources import make_feed  # noqa: E402
from bot.engine.simulation import run_simulation  # noqa: E402
from bot.journal.store import open_journal  # noqa: E402
from bot.logging import configure_logging  # noqa: E402
from risk.base import OrderIntent, RiskContext  # noqa: E402
from risk.pattern_day_trader import PatternDayTrader  # noqa: E402

START, END = date(2023, 1, 3), date(2023, 6, 23)  # 120 NYSE sessions


def replay_config(guard: bool, folder: Path) -> Config:
    path = folder / "config.toml"
    path.write_text(f"""
[data]
timeframe = "1Min"
start = "{START}"
end = "{END}"
[strategy]
name = "sma_cross"
[strategy.sma_cross]
fast = 2
slow = 5
[risk]
pdt_guard = {str(guard).lower()}
""")
    return load_config(path)


def replay_once(guard: bool) -> tuple[float, int, int, int]:
    """(seconds, bars, steps, fills) of one in-process replay."""
    with tempfile.TemporaryDirectory() as tmp:
        config = replay_config(guard, Path(tmp))
        journal = open_journal(Path(tmp) / "j.sqlite", batch_size=config.journal.batch_size)
        feed = make_feed(config)
        started = time.perf_counter()
        result = run_simulation(config, feed, journal, "bench", progress=False)
        seconds = time.perf_counter() - started
        journal.close()
    return seconds, result.bars, len(result.equity), len(result.fills)


def check_with_many_day_trades(recorded: int) -> float:
    """Median seconds of one check after ``recorded`` day trades in the last few days."""
    rule = PatternDayTrader(enabled=True)
    now = datetime(2024, 3, 8, 15, tzinfo=UTC)
    for i in range(recorded):  # spread over the last 4 business days, all inside the window
        ts = now - timedelta(days=i % 4)
        rule._day_trades.append(ts.date())  # noqa: SLF001 - the state a long run leaves behind
    rule._day_trades = type(rule._day_trades)(sorted(rule._day_trades))  # noqa: SLF001
    context = RiskContext(20_000, 20_000, {}, {})
    intent = OrderIntent("b", "ACME", Side.BUY, 1, 10.0, now)
    times = []
    for _ in range(2000):
        started = time.perf_counter()
        rule.check(intent, context)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    configure_logging(None, level="error", console=False)
    runs: dict[bool, list[tuple[float, int, int, int]]] = {True: [], False: []}
    for _ in range(args.repeat):
        for guard in (True, False):
            runs[guard].append(replay_once(guard))
    on, off = (statistics.median(r[0] for r in runs[g]) for g in (True, False))
    bars, steps, fills_on = runs[True][0][1], runs[True][0][2], runs[True][0][3]
    fills_off = runs[False][0][3]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"median of {args.repeat} alternating runs each.",
        "",
        f"Replay: sample market, 5 symbols, 1Min, {START}..{END}, sma_cross 2/5: {bars:,} bars, {steps:,} steps, "
        f"{fills_on:,} fills with the guard on, {fills_off:,} off (same trades: equity stays above $25,000).",
        "",
        "| pdt_guard | median time | steps/s |",
        "|---|---|---|",
        f"| on | {on:.2f} s | {steps / on:,.0f} |",
        f"| off | {off:.2f} s | {steps / off:,.0f} |",
        f"| on / off | {on / off:.3f} | |",
        "",
        "| day trades recorded | one check (median) |",
        "|---|---|",
    ]
    for recorded in (2, 20_000):
        lines.append(f"| {recorded:,} | {check_with_many_day_trades(recorded) * 1e6:.1f} µs |")
    text = "\n".join(lines) + "\n"
    print(text)
    (Path(__file__).parent / "pdt_results.md").write_text(text)


if __name__ == "__main__":
    main()
