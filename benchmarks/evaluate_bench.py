"""The whole ``python -m bot evaluate`` command on the 7 daily CSVs: wall time, CPU time and peak
memory of each run (its own process, measured by ``os.wait4``), whether every run printed the
same figures (the same seed must reproduce the same models), and, with ``--baseline REV``, the same
command from an older commit measured in the same session, runs interleaved so that the
machine's load hits both alike.

Run: ``.venv/bin/python benchmarks/evaluate_bench.py [--repeat N] [--baseline REV]``, or through
``benchmarks/run_all.py``. Needs ../shared/data/daily. Writes benchmarks/evaluate_results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from machine_info import cpu_model

REPO = Path(__file__).resolve().parents[1]
DAILY = REPO.parent / "shared" / "data" / "daily"
RESULTS = REPO / "benchmarks" / "evaluate_results.md"


@dataclass
class Run:
    seconds: float
    cpu_seconds: float  # user + system, every thread
    peak_mib: float  # the process's peak resident set size
    load: tuple[float, float]  # 1-minute load average before and after
    others_cpu: float  # CPU seconds the rest of the machine used during the run (2 cores: max 2x wall)
    figures: str  # the printed summary without its run-specific folder
    headline: dict  # the evaluate table's pooled figures and gate verdicts


def machine() -> str:
    """CPU model, cores usable by this process, Python and the TensorFlow in use."""
    model = cpu_model()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    from importlib.metadata import version

    return (
        f"{model}, {cores} cores usable ({os.cpu_count()} CPUs), {platform.machine()}, Python "
        f"{platform.python_version()}, TensorFlow {version('tensorflow')}, Keras {version('keras')}"
    )


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has been busy since boot (Linux ``/proc/stat``;
    0 elsewhere): its growth during a run, less the run's own CPU time, is what other processes
    took, the steadier sign of a disturbed run than the load average."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measure(argv: list[str], cwd: Path, stdout: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MiB) of one child process run to completion. The
    CPU time includes the processes it waited for (``evaluate`` forks one for the risk
    baselines); the peak RSS is that of the largest single process."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # cwd decides which bot/ runs
    with stdout.open("w") as out:
        started = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not the maximum of all
        seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{' '.join(argv)} (in {cwd}) exited with {child.returncode}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # Linux: KiB


def evaluate_once(tree: Path, tmp: Path) -> Run:
    config = tmp / "config.toml"
    config.write_text(
        f'[report]\ndir = "{tmp}/reports"\n[logging]\ndir = "{tmp}"\n[journal]\npath = "{tmp}/j.sqlite"\n'
    )
    argv = [sys.executable, "-m", "bot", "evaluate", "--config", str(config)]
    argv += ["--source", f"csv:{DAILY}", "--json"]
    before, busy = os.getloadavg()[0], machine_busy_seconds()
    seconds, cpu, peak = measure(argv, tree, tmp / "out.json")
    others = max(0.0, machine_busy_seconds() - busy - cpu)
    summary = json.loads((tmp / "out.json").read_text())
    folder = summary.pop("report_dir", "")  # the run's own report folder, named by its run id
    figures = json.dumps(summary, sort_keys=True)
    if folder:
        figures = figures.replace(folder, "REPORT_DIR")
    return Run(seconds, cpu, peak, (before, os.getloadavg()[0]), others, figures, headline(summary))


def headline(summary: dict) -> dict:
    """What the evaluate table says: pooled figures of both heads and the two gates' verdicts."""
    v = summary["volatility"]
    improvement = summary["mse_improvement_vs_zero"]
    return {
        "return RMSE": f"{summary['model']['rmse']:.6f}",
        "return IC": f"{summary['model']['ic']:+.4f}",
        "MSE vs zero": f"{improvement:+.3%}",
        "return gate (margin 0)": "active" if improvement > 0 else "rejected",
        "risk QLIKE": f"{v['model']['qlike']:.4f}",
        "QLIKE vs EWMA": f"{v['qlike_improvement_vs_ewma']:+.2%}",
        "risk gate": v["gate"],
        "epochs per fold (return / risk)": " ".join(
            f"{f['epochs']}/{f['risk_epochs']}" for f in summary["folds"]
        ),
    }


def import_peak_mib() -> float:
    """Peak RSS of a process that only imports TensorFlow (and Keras), for scale."""
    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, "-c", "import tensorflow, keras"]
        return measure(argv, REPO, Path(tmp) / "out")[2]


def checkout(rev: str, into: Path) -> Path:
    """The tree of ``rev`` (a commit of this repository), extracted into ``into``."""
    archive = subprocess.run(["git", "archive", rev], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _row(label: str, runs: list[Run]) -> str:
    wall = [r.seconds for r in runs]
    loads = ", ".join(f"{r.load[0]:.1f}→{r.load[1]:.1f}" for r in runs)
    others = ", ".join(f"{r.others_cpu:.0f}" for r in runs)
    return (
        f"| {label} | {statistics.median(wall):.1f} s ({min(wall):.1f}–{max(wall):.1f}) | "
        f"{statistics.median(r.cpu_seconds for r in runs):.1f} s | "
        f"{max(r.peak_mib for r in runs):.0f} MiB | {loads} | {others} |"
    )


def run(repeat: int, baseline: str | None) -> list[str]:
    """Measure, write evaluate_results.md and return its lines."""
    if not DAILY.exists():
        return [f"(evaluate benchmark skipped: {DAILY} absent)"]
    trees = {"this tree": REPO}
    with tempfile.TemporaryDirectory() as tmp:
        if baseline:
            label = f"baseline `{baseline}`"
            (Path(tmp) / "baseline").mkdir()
            trees[label] = checkout(baseline, Path(tmp) / "baseline")
        runs: dict[str, list[Run]] = {name: [] for name in trees}
        for i in range(repeat):
            for name, tree in trees.items():  # interleaved: load changes hit both trees alike
                work = Path(tmp) / f"{i}-{len(runs[name])}-{name.split()[0]}"
                work.mkdir()
                runs[name].append(evaluate_once(tree, work))
                done = runs[name][-1]
                print(
                    f"{name}: run {i + 1}/{repeat} {done.seconds:.1f} s, CPU {done.cpu_seconds:.1f} s, "
                    f"peak {done.peak_mib:.0f} MiB, load {done.load[0]:.1f}->{done.load[1]:.1f}, "
                    f"others {done.others_cpu:.0f} CPU-s",
                    file=sys.stderr,
                )
    mine = runs["this tree"]
    same = len({r.figures for r in mine}) == 1
    lines = [
        f"Machine: {machine()}; measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{repeat} run(s) per tree. The machine is shared: the load column is the 1-minute load "
        "average before→after each run, the last column what other processes took of the 2 cores "
        "during each run (0 = the run had the machine to itself), and ratios between trees "
        "measured together mean more than absolute times.",
        "",
        "`python -m bot evaluate --source csv:../shared/data/daily --json` (default config: 7 symbols, "
        "8 walk-forward folds, both heads, EWMA/HAR/GARCH baselines, report files), each run in its "
        "own process:",
        "",
        "| tree | wall time, median (min–max) | CPU time (user + sys) | peak RSS | load before→after "
        "| other processes' CPU-s during each run |",
        "|---|---|---|---|---|---|",
        *(_row(name, tree_runs) for name, tree_runs in runs.items()),
        "",
        f"- Same seed, same figures in every run of this tree: **{'yes' if same else 'NO'}**.",
    ]
    if baseline:
        base = runs[f"baseline `{baseline}`"]
        ratio = statistics.median(r.seconds for r in base) / statistics.median(r.seconds for r in mine)
        cpu_ratio = statistics.median(r.cpu_seconds for r in base) / statistics.median(
            r.cpu_seconds for r in mine
        )
        identical = mine[0].figures == base[0].figures
        lines += [
            f"- This tree is **{ratio:.2f}x** faster than `{baseline}` (median wall times); by CPU "
            f"time, which a shared machine's load moves less, it needs {1 / cpu_ratio:.2f}x of "
            f"`{baseline}`'s.",
            f"- Figures identical to `{baseline}`'s: **{'yes' if identical else 'no'}**; the evaluate "
            "table's figures side by side (first run of each):",
            "",
            f"| figure | this tree | `{baseline}` |",
            "|---|---|---|",
            *(f"| {key} | {value} | {base[0].headline[key]} |" for key, value in mine[0].headline.items()),
            "",
        ]
    lines.append(f"- A process that only imports TensorFlow and Keras peaks at {import_peak_mib():.0f} MiB.")
    text = "\n".join(lines)
    RESULTS.write_text(text + "\n")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="runs per tree (default 3)")
    parser.add_argument("--baseline", help="a commit to measure side by side (e.g. main, HEAD~3)")
    args = parser.parse_args()
    print("\n".join(run(args.repeat, args.baseline)))


if __name__ == "__main__":
    main()
