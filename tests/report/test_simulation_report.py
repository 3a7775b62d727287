"""A simulation's report folder (``bot.report.simulation_report``): the figure is handed to its
plotter before the summary is made, with the notes the summary gives; equity.csv is written with
the bytes pandas wrote (``bot.report.frame_csv``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bot.config import load_config
from bot.data.sources import make_feed
from bot.engine.simulation import run_simulation
from bot.journal.store import open_journal
from bot.report.frame_csv import iso_times, write_frame_csv
from bot.report.simulation_report import plot_notes, write_report

from testkit import write_config


class RecordingPlotter:
    """Keeps the job and what had been written when it came (draws nothing)."""

    def __init__(self, folder):
        self.folder = folder
        self.job = None
        self.written_at_submit: list[str] = []
        self.finished = False

    def submit(self, job) -> None:
        self.job = job
        self.written_at_submit = sorted(p.name for p in self.folder.iterdir())

    def finish(self) -> None:
        self.finished = True

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sim")
    extra = '[data]\nstart = "2023-03-01"\nend = "2023-09-29"\n[strategy]\nname = "sma_cross"\n'
    config = load_config(write_config(tmp, extra))
    journal = open_journal(config.resolve(config.journal.path))
    try:
        return run_simulation(config, make_feed(config, journal), journal, "report", progress=False)
    finally:
        journal.close()


def test_the_figure_goes_first_with_the_notes_of_the_summary(result, tmp_path):
    assert len(result.fills) > 0  # a run that traded: the notes count something
    plotter = RecordingPlotter(tmp_path)
    summary = write_report(result, tmp_path, plotter)
    assert plotter.written_at_submit == []  # before any file: the worker draws while they are written
    assert plotter.finished
    assert list(plotter.job.notes) == plot_notes(summary)
    assert summary["plot"] == str(tmp_path / "pnl.png")
    assert json.loads((tmp_path / "metrics.json").read_text())["fills"] == len(result.fills)


def test_equity_csv_has_the_bytes_pandas_wrote(result, tmp_path):
    write_report(result, tmp_path, RecordingPlotter(tmp_path))
    curve = result.equity.copy()
    curve.index = curve.index.map(lambda t: t.isoformat())
    curve.to_csv(tmp_path / "pandas.csv", float_format="%.6f")
    assert (tmp_path / "equity.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


def _frame(index: pd.DatetimeIndex) -> pd.DataFrame:
    n = len(index)
    values = {"cash": np.linspace(1e5, 2e5, n), "equity": np.linspace(-3.5, 1e6 / 7, n)}
    return pd.DataFrame({**values, "buy_and_hold": np.full(n, 1 / 3)}, index=index.rename("ts"))


@pytest.mark.parametrize(
    "index",
    [
        pd.date_range("2024-01-02 21:00", periods=5, freq="D", tz="UTC"),
        pd.date_range("2024-01-02 14:30", periods=5, freq="1500ms", tz="UTC"),  # fractions of seconds
        pd.date_range("2024-01-02 14:30", periods=5, freq="7ns", tz="UTC"),  # finer than isoformat's us
        pd.date_range("2024-01-02 09:30", periods=5, freq="min", tz="America/New_York"),  # not UTC
        pd.DatetimeIndex([], tz="UTC"),
    ],
    ids=["days", "milliseconds", "nanoseconds", "new-york", "empty"],
)
def test_frame_csv_matches_pandas_to_csv(index, tmp_path):
    frame = _frame(index)
    if len(frame):
        frame.iloc[1, 2] = np.nan  # an empty field, as pandas writes NaN
    write_frame_csv(frame, tmp_path / "fast.csv")
    expected = frame.copy()
    expected.index = expected.index.map(lambda t: t.isoformat())
    expected.to_csv(tmp_path / "pandas.csv", float_format="%.6f")
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    assert iso_times(index) == [t.isoformat() for t in index]
