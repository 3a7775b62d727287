"""Where the ``simulate`` command's wall time goes, phase by phase, on the 7 daily CSVs.

Run: ``.venv/bin/python benchmarks/simulate_command.py [--repeat N] [--baseline REV]``. Needs
../shared/data/daily. Writes ``benchmarks/simulate_command.md``.

Two measurements, each run in its own fresh process, alternating between the trees when
``--baseline`` names an older commit (its tree is checked out with ``git archive`` into a
temporary folder and run with this venv):

- **the command**: ``python -m bot simulate --source csv:../shared/data/daily --strategy sma_cross
  --json`` with the default config otherwise (journal, logs and reports in a fresh folder), wall
  time of the whole process, as ``sim_vs_backtesting.py``'s command row;
- **its phases**: the same steps as ``bot/commands/simulate.py`` in a process that stamps the
  time between them (``phases`` below): imports, config + logging + journal, the run, the
  report's files, the wait for pnl.png (the plot worker's draw, or the draw itself in a tree
  without one), the journal's end. The interpreter's own start is ``python -c pass``.

Before measuring, each tree runs the command once with bytecode writing on (whatever
``PYTHONDONTWRITEBYTECODE`` says), so both read their modules from ``__pycache__`` as an installed
bot does: a fresh ``git archive`` tree would otherwise compile its ~70 modules at every start.

Medians; the load average is printed around the runs (the machine is shared: compare rows of
one run, not across runs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_info import cpu_model

REPO = Path(__file__).resolve().parents[1]
DAILY = REPO.parent / "shared" / "data" / "daily"
RESULTS = REPO / "benchmarks" / "simulate_command.md"

# The phase probe: runs inside the measured tree (argv: tree, run folder); prints one JSON line.
PHASES = r"""
import sys, time, json
clock = time.perf_counter
t0 = clock()
marks = {}
last = t0
def mark(name):
    global last
    now = clock()
    marks[name] = marks.get(name, 0.0) + now - last
    last = now
tree, folder = sys.argv[1], sys.argv[2]
sys.path.insert(0, tree)
import os
if "OPENBLAS_NUM_THREADS" in open(tree + "/bot/__main__.py").read():  # what the tree's CLI sets
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
from pathlib import Path
from bot.__main__ import build_parser
args = build_parser().parse_args(["simulate", "--config", folder + "/config.toml",
    "--source", "csv:" + sys.argv[3], "--strategy", "sma_cross", "--json"])
worker = Path(tree, "bot/report/plot_worker.py").exists()
plotter = None
if worker:
    import bot.report.plot_worker as plot_worker
    from bot.report.plot_worker import start_plotter
    if len(sys.argv) > 4 and sys.argv[4] != "auto":  # --plotter: a worker whatever the load, or none
        plot_worker.SPARE_CPUS = -1e9 if sys.argv[4] == "worker" else 1e9
    plotter = start_plotter()
mark("imports")
from bot.commands import simulate as sim
from bot.commands.common import load, new_run_id, start_logging
config = sim.apply_flags(load(args.config), args)
run_id = new_run_id()
start_logging(config, "simulate", run_id, writable=("journal.path", "report.dir"))
mark("config + logging")
from bot.data.sources import make_feed
from bot.engine.simulation import run_simulation
from bot.journal.store import open_journal
import bot.report.simulation_report as report
mark("imports")
journal = open_journal(config.resolve(config.journal.path), batch_size=config.journal.batch_size)
feed = make_feed(config, journal)
mark("config + logging")
out = config.resolve(config.report.dir) / ("sim-" + run_id)
import inspect
# as the tree's command: a worker gets the figure as soon as the run has its result
early = worker and plotter.__class__.__name__ == "PlotWorker" and "on_result" in inspect.signature(run_simulation).parameters
if early:
    extra = {"helpers": 1} if "helpers" in inspect.signature(run_simulation).parameters else {}  # as the command
    result = run_simulation(config, feed, journal, run_id, on_result=lambda r: report.start_plot(r, out, plotter), **extra)
else:
    result = run_simulation(config, feed, journal, run_id)
mark("simulation")
if worker:
    class Timed:
        def submit(self, job):
            mark("report files")
            plotter.submit(job)  # an in-process plotter draws here
            mark("pnl.png (wait or draw)")
        def finish(self):
            mark("report files")
            plotter.finish()
            mark("pnl.png (wait or draw)")
        def close(self):
            plotter.close()
    overlap = "while_drawing" in inspect.signature(report.write_report).parameters  # as the tree's command
    extra = {"while_drawing": journal.checkpoint} if overlap else {}
    if early:
        extra["plot_started"] = True
    summary = report.write_report(result, out, Timed(), **extra)
else:
    draw = report.plot_pnl
    def timed(*a, **k):
        mark("report files")
        path = draw(*a, **k)
        mark("pnl.png (wait or draw)")
        return path
    report.plot_pnl = timed
    summary = report.write_report(result, out)
mark("report files")
journal.end_run(run_id, "completed", summary)
journal.close()
if plotter is not None:
    plotter.close()
mark("journal end")
marks["elapsed_seconds (JSON)"] = result.elapsed_seconds
marks["worker"] = float(type(plotter).__name__ == "PlotWorker")
marks["total in process"] = clock() - t0
print("PHASES=" + json.dumps(marks))
"""

ORDER = (
    "interpreter start (python -c pass)",
    "imports",
    "config + logging",
    "simulation",
    "report files",
    "pnl.png (wait or draw)",
    "journal end",
    "total in process",
    "elapsed_seconds (JSON)",
)


#: --plotter values and their tables' headings
PLOTTERS = {
    "auto": "as the command chooses (a worker when the load average leaves a CPU idle)",
    "worker": "drawn by the plot worker, whatever the load",
    "inline": "drawn in the command's process",
}


def fresh_folder(tmp: Path, k: int) -> Path:
    folder = tmp / f"run{k}"
    folder.mkdir()
    (folder / "config.toml").write_text(
        f'[journal]\npath = "{folder / "j.sqlite"}"\n[logging]\ndir = "{folder}"\n'
        f'[report]\ndir = "{folder / "reports"}"\n'
    )
    return folder


#: ``python -m bot ARGS`` with the plot worker's load rule set aside (``--plotter worker|inline``)
FORCED = (
    "import sys\n"
    "import bot.report.plot_worker as plot_worker\n"
    "plot_worker.SPARE_CPUS = -1e9 if sys.argv[1] == 'worker' else 1e9\n"
    "from bot.__main__ import exit_process, main\n"
    "exit_process(main(sys.argv[2:]), sys.argv[2:])\n"
)


def command_seconds(
    tree: Path, folder: Path, env: dict[str, str] | None = None, plotter: str = "auto"
) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and of the plot worker it waited for): the CPU
    time compares trees better than the wall time on a machine others are using."""
    args = ["simulate", "--config", str(folder / "config.toml")]
    args += ["--source", f"csv:{DAILY}", "--strategy", "sma_cross", "--json"]
    if plotter == "auto":
        argv = [sys.executable, "-m", "bot", *args]
    else:
        argv = [sys.executable, "-c", FORCED, plotter, *args]
    cpu_before = _children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, err = process.communicate()
    wall = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"the command failed ({process.returncode}): {err.decode(errors='replace')}")
    return wall, _children_cpu() - cpu_before


def _children_cpu() -> float:
    """CPU seconds of every child this process waited for, and of theirs (one runs at a time)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def write_bytecode(tree: Path, folder: Path) -> None:
    """One run with ``__pycache__`` written (the measured runs then read it)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command_seconds(tree, folder, env)


def phase_seconds(tree: Path, folder: Path, plotter: str = "auto") -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", PHASES, str(tree), str(folder), str(DAILY), plotter],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = [x for x in out.splitlines() if x.startswith("PHASES=")][-1]
    return json.loads(line.removeprefix("PHASES="))


def bare_start() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def checkout(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", rev], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(repeat: int, baseline: str | None, plotter: str = "auto") -> str:
    before = load()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        trees = {"this tree": REPO}
        if baseline:
            (tmp / "baseline").mkdir()
            trees[f"`{baseline}`"] = checkout(baseline, tmp / "baseline")
        walls: dict[str, list[float]] = {label: [] for label in trees}
        cpus: dict[str, list[float]] = {label: [] for label in trees}
        phases: dict[str, list[dict[str, float]]] = {label: [] for label in trees}
        starts = []
        k = 0
        for tree in trees.values():
            write_bytecode(tree, fresh_folder(tmp, k))
            k += 1
        for _ in range(repeat):
            for label, tree in trees.items():  # alternating, so noise hits both alike
                wall, cpu = command_seconds(tree, fresh_folder(tmp, k), plotter=plotter)
                walls[label].append(wall)
                cpus[label].append(cpu)
                phases[label].append(phase_seconds(tree, fresh_folder(tmp, k + 1), plotter))
                k += 2
            starts.append(bare_start())
    after = load()
    labels = list(trees)
    lines = [
        f"Machine: {cpu_model()}; {os.cpu_count()} cores; load average {before} before, {after} after. "
        f"Medians of {repeat} runs per tree, alternating; each run a fresh process and a fresh folder.",
        "",
        "| phase (median seconds) | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for phase in ORDER:
        cells = []
        for label in labels:
            if phase.startswith("interpreter"):
                cells.append(f"{statistics.median(starts):.3f}")
                continue
            values = [p.get(phase, 0.0) for p in phases[label]]
            cells.append(f"{statistics.median(values):.3f}")
        lines.append(f"| {phase} | " + " | ".join(cells) + " |")
    lines.append(
        "| pnl.png drawn by the worker (phase runs; else in process: a busy machine) | "
        + " | ".join(
            f"{sum(p.get('worker', 0.0) for p in phases[label]):.0f} of {repeat}" for label in labels
        )
        + " |"
    )
    lines.append(
        "| **the whole command (wall)** | "
        + " | ".join(
            f"**{statistics.median(walls[label]):.2f}** ({', '.join(f'{t:.2f}' for t in walls[label])})"
            for label in labels
        )
        + " |"
    )
    lines.append(
        "| the whole command's CPU (its process and the plot worker) | "
        + " | ".join(f"{statistics.median(cpus[label]):.2f}" for label in labels)
        + " |"
    )
    return "\n".join(lines)


NOTES = """\
Reading these tables on a shared machine: at a load average of 3 and more on 2 cores (other
work running), one run's wall time varies by a second and more and the command draws pnl.png in
its own process (the worker only competes then: the second table forces one). Compare the trees
by the CPU row and the phases inside the process, which vary less; the 1.5 s target is for an
idle machine, where the worker draws while the command's own process imports and simulates.

What each phase holds, and what changed (issue 15):

- **imports**: the CLI, then pandas, NumPy, structlog and the bot's modules. The command does not
  import matplotlib where the plot worker draws (`bot/report/plot_worker.py`, started first thing:
  matplotlib loads on the other core while this one imports and simulates). A simulation imports
  neither `bot.forecast` nor TensorFlow, nor the sample market for a CSV source, nor the email
  package for a run without news. structlog is loaded with rich hidden (`bot/logging.py`): rich,
  pygments and attrs were a tenth of a second and more of every start, for tracebacks that are
  now rendered plainly; asyncio still comes with `structlog.stdlib`.
- **config + logging**: config file, flags, logging set-up (structlog's import is counted here),
  the journal's file and the CSV feed.
- **simulation**: `run_simulation` (the engine, the lead's part of the issue): the JSON's
  `elapsed_seconds`. A tree with `on_result` hands the figure's arrays (`bot/report/pnl_data.py`)
  to the worker as soon as the run has its result, before it journals the bars and equity rows
  (counted here): the worker draws meanwhile. The stops' log lines are debug in a simulation.
- **report files**: the figure's arrays (in a tree without `on_result`), the summary, trades.csv,
  equity.csv (written from whole columns, `bot/report/frame_csv.py`: the same bytes as pandas'
  `to_csv`, 54 ms -> 10 ms), the journal's checkpoint where the tree makes it while the figure
  is drawn, and metrics.json.
- **pnl.png (wait or draw)**: what is left of the worker's draw once the rest is done; where the figure is drawn in the command's process (a tree without the worker,
  or a busy machine: see `SPARE_CPUS` in `bot/report/plot_worker.py`), the draw itself, with
  matplotlib's import (now without its 3D toolkit, 40-80 ms of it: `bot/report/matplotlib_import.py`). The worker makes its figure, each axis's ticks, the Agg canvas and its
  pixel buffer and loads PIL's plugins while it waits; the draw skips measuring the panels for the
  (empty) date-axis labels and the title, hides the upper panels' dates without laying them out,
  and writes the PNG at zlib level 1. What is left is about 0.3 s of CPU, two thirds of it text
  (FreeType renders each of about 400 glyphs). The left margin widens only when a panel's y labels
  would leave the figure ($4,000,000 ticks pushed "equity" off it): a figure whose labels fit keeps
  its pixels. Not done, measured: the equity lines decimated to the pixel columns (no gain at
  2,768 or 12,000 points; +0.2 s of draw at 100,000), two processes drawing a half each (the upper
  panel is most of the work: 15-25 % less CPU on the critical path, for a fork and a composite).
- **journal end**: the run marked completed, the journal closed. After it, the process ends at
  once (`os._exit` once logs and output are flushed, `bot/__main__.py`); so does the worker once
  its file is written.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", help="a commit to measure side by side (e.g. main)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--plotter",
        default="auto",
        help="comma-separated, a table each: 'auto' (the command's own choice by load), 'worker' "
        "(a plot worker whatever the load), 'inline' (pnl.png drawn in the command's process)",
    )
    args = parser.parse_args()
    if not DAILY.is_dir():
        sys.exit(f"{DAILY} is absent: this benchmark needs ../shared/data/daily")
    tables = []
    for plotter in args.plotter.split(","):
        if plotter not in PLOTTERS:
            sys.exit(f"--plotter: expected some of {', '.join(PLOTTERS)}, got {plotter!r}")
        tables.append(f"## pnl.png {PLOTTERS[plotter]}\n\n" + measure(args.repeat, args.baseline, plotter))
    text = "# The `simulate` command, phase by phase\n\n" + "\n\n".join(tables) + "\n\n" + NOTES
    print(text)
    if not args.no_write:
        RESULTS.write_text(text + "\n")


if __name__ == "__main__":
    main()
