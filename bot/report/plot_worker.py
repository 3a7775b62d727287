"""Draws a simulation's ``pnl.png`` in a second process, started when the command starts.

Loading matplotlib takes longer than a daily simulation of several symbols, and drawing needs
nothing but the run's final curve. So ``simulate`` starts this worker first thing
(``start_plotter``): while the simulation runs on one core, the worker loads matplotlib on the
other and lays out an empty figure; the finished run's ``PnlData`` then travels to it (a pickle
on its stdin) and it only draws and writes the file.

| step | parent (``PlotWorker``) | worker (``python -m bot.report.plot_worker``) |
|---|---|---|
| start | ``start_plotter()`` spawns the worker | imports matplotlib, makes ``new_figure()`` and its ticks |
| job | ``submit(job)``: one pickled ``PlotJob`` on stdin, stdin closed | reads it, draws, writes ``job.path`` |
| end | ``finish()``: waits (``timeout``), reads its exit code and stderr | exit 0 written; 1 with a traceback on stderr |
| stop | ``close()`` without ``finish()`` (a failed run, nothing to plot): the worker is killed | |
| no job | — | EOF before a job: exit 0, nothing written |

A worker that cannot start, fails or times out never loses the figure: ``finish`` logs why and
draws it in this process instead (an error there is raised, as without a worker). Where a worker
cannot help — matplotlib already loaded here (a test run, a long-lived process), one CPU, or a
machine whose load average leaves no CPU idle (``SPARE_CPUS``) — the in-process
``InlinePlotter`` draws at ``submit``.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # not at run time: the parent imports this module before pandas, to start early
    from bot.report.pnl_data import PnlData

#: ticks the worker makes ahead on each axis of its figure (this figure's axes show 5 to 10)
AHEAD_TICKS = 12
#: idle CPUs a worker needs to pay: on a machine busy already it only competes with this process
#: (measured at load 3 to 5 on 2 CPUs: the command took 8.9 s with a worker, 7.9 s without)
SPARE_CPUS = 0.5
#: longest wait for the worker's figure before drawing it here instead (seconds)
FINISH_TIMEOUT = 120.0


@dataclass(frozen=True)
class PlotJob:
    """Everything ``draw_pnl`` needs: picklable without pandas or matplotlib. ``path`` is absolute
    (the worker runs in another folder)."""

    data: PnlData
    path: Path
    title: str
    synthetic: bool
    notes: tuple[str, ...] = field(default_factory=tuple)

    def draw(self, figure: Any = None) -> Path:
        from bot.report.pnl import draw_pnl

        return draw_pnl(
            self.data, self.path, title=self.title, synthetic=self.synthetic, notes=self.notes, figure=figure
        )


class InlinePlotter:
    """Draws in this process, at ``submit``."""

    #: whether ``submit`` returns at once while the figure is drawn elsewhere
    in_background = False

    def submit(self, job: PlotJob) -> None:
        job.draw()

    def finish(self) -> None:
        """Nothing to wait for."""

    def close(self) -> None:
        """Nothing to stop."""

    def __enter__(self) -> InlinePlotter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PlotWorker:
    """The worker process (see the module's table). One job per worker, then ``finish``;
    ``close`` may be called at any time, more than once."""

    in_background = True  # see InlinePlotter

    def __init__(self, *, timeout: float = FINISH_TIMEOUT, argv: list[str] | None = None) -> None:
        self.timeout = timeout
        self._job: PlotJob | None = None
        root = str(Path(__file__).resolve().parents[2])  # the folder holding this bot package
        # run from there, with it first on the path: the worker loads this very package
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH")))),
        }
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # a file, not a pipe: it cannot fill up
        try:
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                argv or [sys.executable, "-m", "bot.report.plot_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                cwd=root,
                env=env,
            )
        except BaseException:
            self._stderr.close()
            raise

    def submit(self, job: PlotJob) -> None:
        """Hand ``job`` to the worker (it draws while this process goes on)."""
        self._job = job
        process = self._process
        if process is None or process.stdin is None:
            return
        try:
            pickle.dump(job, process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            process.stdin.close()
        except OSError:  # the worker is gone: finish() says why and draws here
            pass

    def finish(self) -> None:
        """Wait for the worker's figure; when it did not come, draw it here (see the module)."""
        job, self._job = self._job, None
        problem = self._wait()
        if job is None or (problem is None and job.path.is_file()):
            return
        import structlog

        structlog.get_logger(__name__).warning(
            "plot_worker_failed", problem=problem or "it wrote no file", fallback="drawn in this process"
        )
        job.draw()

    def close(self) -> None:
        """Stop the worker without waiting for a figure (the run failed, or had nothing to plot)."""
        self._job = None
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        self._close_stdin(process)
        self._done()

    def _wait(self) -> str | None:
        """The worker's end: None when it exited 0, else what went wrong (one line)."""
        process = self._process
        if process is None:
            return "the worker was already stopped"
        self._close_stdin(process)
        try:
            code = process.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            self._done()
            return f"no figure after {self.timeout:g} s"
        except OSError as exc:
            code = process.poll()
            if code is None:
                process.kill()
                process.wait()
                self._done()
                return str(exc)
        self._stderr.seek(0)
        tail = self._stderr.read().decode(errors="replace").strip().splitlines()
        self._done()
        if code == 0:
            return None
        return f"exit {code}: {tail[-1] if tail else 'no message'}"

    @staticmethod
    def _close_stdin(process: subprocess.Popen[bytes]) -> None:
        if process.stdin is not None and not process.stdin.closed:
            try:
                process.stdin.close()
            except OSError:  # a broken pipe: the worker is gone
                pass

    def _done(self) -> None:
        self._process = None
        self._stderr.close()

    def __enter__(self) -> PlotWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Plotter = InlinePlotter | PlotWorker


def start_plotter() -> Plotter:
    """A ``PlotWorker`` when one can help, else an ``InlinePlotter`` (see the module)."""
    if "matplotlib" in sys.modules or _spare_cpus() < SPARE_CPUS or not sys.executable:
        return InlinePlotter()
    try:
        return PlotWorker()
    except OSError:  # cannot spawn (no interpreter at sys.executable, no processes left)
        return InlinePlotter()


def _spare_cpus() -> float:
    """CPUs the last minute left idle (this process's CPUs less the 1-minute load average)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average here: judge by the CPUs alone
        load = 0.0
    return _cpus() - load


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def main() -> int:
    """The worker: load matplotlib, lay out a figure, then draw the one job stdin brings."""
    from bot.report.pnl import new_figure

    figure = new_figure(ticks=AHEAD_TICKS)
    try:
        job = pickle.load(sys.stdin.buffer)
    except EOFError:  # closed without a job: nothing to draw
        return 0
    job.draw(figure)
    return 0


if __name__ == "__main__":
    code = main()
    # The figure is written and its file closed: end now. The interpreter's own shutdown (tearing
    # down matplotlib, NumPy and PIL) took about 150 ms, which the command spent waiting for this
    # process to exit. A failure raised above still ends the usual way, with its traceback.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
