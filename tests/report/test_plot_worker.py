"""The plot worker (``bot.report.plot_worker``): the figure it draws in its own process is the one
drawn here, and a worker that fails, hangs or is stopped never loses or half-writes a figure."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import structlog
from PIL import Image

from bot.report import plot_worker
from bot.report.plot_worker import InlinePlotter, PlotJob, PlotWorker, start_plotter
from bot.report.pnl_data import PnlData


def _job(path: Path, synthetic: bool = False) -> PlotJob:
    n = 60
    times = np.datetime64("2023-01-03T16:00", "ns") + np.arange(n) * np.timedelta64(1, "D")
    equity = 100_000 + np.cumsum(np.sin(np.arange(n) / 3.0)) * 500
    drawdown = 1 - equity / np.maximum.accumulate(equity)
    days = times.astype("datetime64[D]").astype("datetime64[ns]")
    markers = {
        "buy": (np.array([3, 20]), 2),
        "sell": (np.array([10]), 1),
        "protective stop": (np.array([30]), 1),
    }
    data = PnlData(times, equity, equity * 1.001, drawdown, days, np.diff(equity, prepend=100_000), markers)
    return PlotJob(
        data, path, title="sma_cross on TEST", synthetic=synthetic, notes=("2 fills", "risk gate: allow 2")
    )


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_the_worker_draws_the_same_picture_as_this_process(tmp_path):
    inline = _job(tmp_path / "inline.png", synthetic=True)
    InlinePlotter().submit(inline)
    worker = PlotWorker()
    job = _job(tmp_path / "worker" / "pnl.png", synthetic=True)
    worker.submit(job)
    worker.finish()
    assert job.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.array_equal(_pixels(job.path), _pixels(inline.path))


def test_a_failing_worker_is_reported_and_the_figure_drawn_here(tmp_path):
    job = _job(tmp_path / "pnl.png")
    worker = PlotWorker(argv=[sys.executable, "-c", "import sys; sys.stderr.write('boom\\n'); sys.exit(3)"])
    with structlog.testing.capture_logs() as logs:
        worker.submit(job)
        worker.finish()
    assert job.path.is_file()
    failed = [e for e in logs if e["event"] == "plot_worker_failed"]
    assert len(failed) == 1 and failed[0]["problem"] == "exit 3: boom", logs


def test_a_worker_that_never_answers_is_killed_and_the_figure_drawn_here(tmp_path):
    job = _job(tmp_path / "pnl.png")
    worker = PlotWorker(timeout=0.5, argv=[sys.executable, "-c", "import time; time.sleep(60)"])
    process = worker._process
    with structlog.testing.capture_logs() as logs:
        worker.submit(job)
        worker.finish()
    assert job.path.is_file()
    assert process.returncode is not None  # not left running
    assert [e["problem"] for e in logs if e["event"] == "plot_worker_failed"] == ["no figure after 0.5 s"]


def test_a_worker_that_cannot_start_leaves_the_figure_to_this_process(tmp_path, monkeypatch):
    # as in a fresh process with an idle CPU, where a worker would be started
    monkeypatch.delitem(sys.modules, "matplotlib", raising=False)
    monkeypatch.setattr(plot_worker, "_spare_cpus", lambda: 2.0)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    plotter = start_plotter()
    assert isinstance(plotter, InlinePlotter)
    job = _job(tmp_path / "pnl.png")
    plotter.submit(job)
    assert job.path.is_file()


def test_in_a_fresh_process_with_an_idle_cpu_a_worker_is_started(monkeypatch):
    monkeypatch.delitem(sys.modules, "matplotlib", raising=False)
    monkeypatch.setattr(plot_worker, "_spare_cpus", lambda: 2.0)
    with start_plotter() as plotter:
        assert isinstance(plotter, PlotWorker)
    monkeypatch.setattr(plot_worker, "_spare_cpus", lambda: 0.2)  # no idle CPU: a worker cannot help
    assert isinstance(start_plotter(), InlinePlotter)


def test_closing_without_a_job_stops_the_worker_and_writes_nothing(tmp_path):
    worker = PlotWorker()
    process = worker._process
    worker.close()
    worker.close()  # twice is harmless
    assert process.returncode is not None
    assert list(tmp_path.iterdir()) == []


def test_closing_the_input_without_a_job_ends_the_worker_cleanly():
    worker = PlotWorker()
    process = worker._process
    worker.finish()  # no job: stdin closed, the worker reads EOF
    assert process.returncode == 0


def test_with_matplotlib_loaded_here_the_figure_is_drawn_here():
    import matplotlib  # noqa: F401  (what a test run or a long-lived process has)

    assert isinstance(start_plotter(), InlinePlotter)
