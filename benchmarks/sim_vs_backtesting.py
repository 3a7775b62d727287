"""Our simulation against backtesting.py, side by side in one run, on the same bars and rule.

Run: ``.venv/bin/python benchmarks/sim_vs_backtesting.py [--repeat N]`` (``run_all.py`` runs it
too). Writes ``benchmarks/sim_results.md``. Needs backtesting.py (the ``test`` extra) and, for two
of the three cases, ../shared/data.

The strategy is the one ``tests/e2e/test_backtesting_parity.py`` proves identical
(``tests/backtesting_parity.py``): SMA 10/20 cross, long only, ``trunc(0.95 x equity / close)``
shares, filled at the next open, no costs. Each repetition runs every case once each way,
alternating, so machine noise hits both alike; the table shows medians.

- **Ours**: ``run_simulation`` in this process with a fresh journal and a fresh CSV feed, the
  whole pipeline on (risk gate on every order, journal, equity snapshots): bars over the
  result's own ``elapsed_seconds`` (reading the CSV files included), as ``simulate --json`` reports.
- **backtesting.py**: ``Backtest(frame, strategy).run()`` on frames already in memory (reading
  the files is not counted: the comparison is as strict as it can be for us). One symbol per
  backtest: for the 7 daily CSVs, seven backtests, bars summed over time summed.
- **The command**: ``python -m bot simulate --source csv:../shared/data/daily --strategy sma_cross
  --json`` with the default config otherwise, wall time of the whole process (imports, the run,
  the report files and ``pnl.png``).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from machine_info import cpu_model

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
SHARED = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "sim_results.md"
FAST, SLOW, CASH = 10, 20, 100_000.0

from backtesting_parity import (  # noqa: E402
    backtesting_trades,
    our_trades,
    parity_config,
    read_bars,
    regular_session,
    sma_rule_strategy,
    write_goog,
)

from bot.config import load_config  # noqa: E402
from bot.data.sources import make_feed  # noqa: E402
from bot.engine.simulation import run_simulation  # noqa: E402
from bot.journal.store import open_journal  # noqa: E402
from bot.logging import configure_logging  # noqa: E402


@dataclass
class Case:
    label: str
    directory: Path
    files: dict[str, Path]  # symbol -> CSV file
    timeframe: str = "1Day"
    ours: list[float] = field(default_factory=list)  # seconds (elapsed_seconds)
    theirs: list[float] = field(default_factory=list)
    #: CPU seconds of each run (``time.process_time``; ours around the whole run, journal open
    #: and close included, and its write-behind worker's): less moved by other processes than
    #: wall time on a shared machine
    ours_cpu: list[float] = field(default_factory=list)
    theirs_cpu: list[float] = field(default_factory=list)
    bars: int = 0
    their_bars: int = 0
    same_trades: str = ""


def machine() -> str:
    """CPU model and core count (from /proc/cpuinfo where there is one), Python, load."""
    model = cpu_model()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return f"{model}; {os.cpu_count()} cores; Python {platform.python_version()}; load average {load}"


def our_config(case: Case, tmp: Path):
    text = parity_config(cash=CASH, fast=FAST, slow=SLOW).replace(
        "[data]\n", f'[data]\nsource = "csv:{case.directory}"\ntimeframe = "{case.timeframe}"\n'
    )
    if case.timeframe != "1Day":
        text = text.replace("extended_hours = true", "extended_hours = false")
        text = text.replace("[data]\n", f"[data]\nsymbols = {list(case.files)!r}\n".replace("'", '"'))
    path = tmp / f"{case.label.split()[0]}.toml"
    path.write_text(text)
    return load_config(path)


def run_ours(config, tmp: Path):
    journal_path = tmp / "bench.sqlite"
    journal_path.unlink(missing_ok=True)
    journal = open_journal(journal_path, batch_size=config.journal.batch_size)
    try:
        return run_simulation(config, make_feed(config), journal, "bench", progress=False)
    finally:
        journal.close()


def run_theirs(frames: dict, allocation: float) -> tuple[float, dict]:
    from backtesting import Backtest

    strategy = sma_rule_strategy(FAST, SLOW, allocation)
    started = time.perf_counter()
    stats = {}
    for symbol, frame in frames.items():
        stats[symbol] = Backtest(frame, strategy, cash=CASH, commission=0.0).run()
    return time.perf_counter() - started, stats


def compare(result, stats: dict, *, daily: bool, sizes: bool) -> str:
    """Whether our round trips equal backtesting.py's (times and prices to the cent; sizes too
    when one backtest is one whole account: our 7-symbol portfolio shares one equity, and resizes a
    position that drifted past its band, which seven separate backtests cannot)."""
    total, differing = 0, 0
    for symbol, their_stats in stats.items():
        mine = [f for f in result.fills if f.symbol == symbol]
        ours = [t.rounded() for t in our_trades(mine, daily=daily, strict=sizes)]
        ours = [t for t in ours if t[4] is not None]  # closed round trips (backtesting.py's list)
        theirs = [t.rounded() for t in backtesting_trades(their_stats, symbol)]
        if not sizes:
            ours = [t[:1] + t[2:] for t in ours]
            theirs = [t[:1] + t[2:] for t in theirs]
        total += len(theirs)
        differing += sum(a != b for a, b in zip(ours, theirs)) + abs(len(ours) - len(theirs))
    what = "identical" if differing == 0 else f"{differing} differ"
    return f"{what} ({total} round trips{'' if sizes else ', sizes not compared'})"


def command_seconds(tmp: Path, repeat: int) -> list[float]:
    """Wall time of the whole ``simulate`` command on the 7 daily CSVs (default config + sma_cross)."""
    times = []
    for k in range(repeat):
        folder = tmp / f"cmd{k}"
        folder.mkdir()
        config = folder / "config.toml"
        config.write_text(
            f'[journal]\npath = "{folder / "j.sqlite"}"\n[logging]\ndir = "{folder}"\n'
            f'[report]\ndir = "{folder / "reports"}"\n'
        )
        argv = [sys.executable, "-m", "bot", "simulate", "--config", str(config)]
        argv += ["--source", f"csv:{SHARED / 'daily'}", "--strategy", "sma_cross", "--json"]
        started = time.perf_counter()
        subprocess.run(argv, cwd=REPO, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return times


def cases(tmp: Path) -> list[Case]:
    goog = write_goog(tmp / "goog")
    found = [Case("GOOG daily (backtesting.py's bundled data, 2004-2013)", goog, {"GOOG": goog / "GOOG.csv"})]
    if SHARED.exists():
        daily = SHARED / "daily"
        files = {p.stem: p for p in sorted(daily.glob("*.csv"))}
        found.append(Case("7 daily CSVs (2013-2023)", daily, files))
        minute = SHARED / "minute"
        found.append(
            Case(
                "SPY minute CSV (2021-07..08, regular session)",
                minute,
                {"SPY": minute / "SPY_2021-07.csv"},
                "1Min",
            )
        )
    return found


def measure(repeat: int, *, command: bool = True) -> str:
    import backtesting
    import backtesting.backtesting as bt_module

    bt_module._tqdm = lambda seq, **_: seq  # no progress bar (ours runs without one too)
    configure_logging(None, level="error", console=False)
    before = machine()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        found = cases(tmp)
        for case in found:
            config = our_config(case, tmp)
            frames = {s: read_bars(p) for s, p in case.files.items()}
            if case.timeframe != "1Day":
                frames = {s: regular_session(f) for s, f in frames.items()}
            allocation = 0.95 / len(frames)
            daily = case.timeframe == "1Day"
            run_ours(config, tmp)  # warm-up: first-call imports and caches, both sides
            run_theirs(frames, allocation)
            for _ in range(repeat):  # alternating, so noise hits both alike
                cpu = _cpu_with_children()
                result = run_ours(config, tmp)  # closes the journal: its worker is waited for
                case.ours_cpu.append(_cpu_with_children() - cpu)
                case.ours.append(result.elapsed_seconds)
                cpu = time.process_time()
                seconds, stats = run_theirs(frames, allocation)
                case.theirs_cpu.append(time.process_time() - cpu)
                case.theirs.append(seconds)
            case.bars = result.bars
            case.their_bars = sum(len(f) for f in frames.values())
            case.same_trades = compare(result, stats, daily=daily, sizes=len(frames) == 1)
        timed = command_seconds(tmp, repeat) if command and SHARED.exists() else []
    return report(found, timed, repeat, before, backtesting.__version__)


def _cpu_with_children() -> float:
    """CPU seconds of this process and of its children waited for (the journal's write-behind
    worker, ``bot/journal/write_behind.py``, writes our journal on the other core: counted)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def report(found: list[Case], command: list[float], repeat: int, before: str, version: str) -> str:
    lines = [
        f"Machine: {before} (at the start). Medians of {repeat} alternating runs; backtesting.py "
        f"{version}; strategy SMA {FAST}/{SLOW} cross, long only, 95 % of equity, next-open fills, "
        "no costs.",
        "",
        "| case | bars | ours (in process, JSON's elapsed_seconds) | backtesting.py (in process) "
        "| ours / backtesting.py | the same, median of back-to-back pairs | the same, by CPU time | trades |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case in found:
        ours = statistics.median(case.ours)
        theirs = statistics.median(case.theirs)
        ours_rate, their_rate = case.bars / ours, case.their_bars / theirs
        bars_ratio = case.bars / case.their_bars  # 1 but where the replays differ in bars
        # each repetition's pair ran back to back: the median of their ratios is the steadiest
        paired = statistics.median(t / o * bars_ratio for o, t in zip(case.ours, case.theirs))
        cpu = statistics.median(case.theirs_cpu) / statistics.median(case.ours_cpu) * bars_ratio
        lines.append(
            f"| {case.label} | {case.bars:,} | {ours_rate:,.0f} bars/s ({ours:.3f} s) "
            f"| {their_rate:,.0f} bars/s ({theirs:.3f} s) | **{ours_rate / their_rate:.2f}x** | {paired:.2f}x "
            f"| {cpu:.2f}x | {case.same_trades} |"
        )
    if command:
        lines += [
            "",
            "| command | median wall time | runs |",
            "|---|---|---|",
            f"| `python -m bot simulate --source csv:../shared/data/daily --strategy sma_cross --json` "
            f"(default config otherwise; report files and pnl.png included) | {statistics.median(command):.2f} s "
            f"| {', '.join(f'{t:.2f}' for t in command)} s |",
        ]
    if not SHARED.exists():
        lines.append("\n(../shared/data absent: only the GOOG case ran)")
    lines.append(f"\nLoad average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None, write: Callable[[str], None] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-command", action="store_true", help="in-process cases only (no file written)")
    args = parser.parse_args(argv)
    text = measure(args.repeat, command=not args.no_command)
    if args.no_command:
        print(text)
        return text
    print(text)
    (write or (lambda t: RESULTS.write_text(t + "\n")))(text)
    return text


if __name__ == "__main__":
    main()
