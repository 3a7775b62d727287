"""What a ``simulate`` process loads: never TensorFlow or the forecast package for a strategy
without a model, and no matplotlib where the plot worker draws (checked in a fresh interpreter's
``sys.modules``, like the light commands in test_cli.py)."""

import os

from testkit import heavy_imports, write_config

NEVER = ("tensorflow", "keras", "bot.forecast")


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def test_sma_cross_simulation_imports_no_tensorflow_nor_the_forecast_package(tmp_path):
    config = write_config(tmp_path)
    argv = ["simulate", "--config", str(config), "--strategy", "sma_cross", "--json"]
    argv += ["--start", "2023-06-01", "--end", "2023-09-29"]
    loaded, output = heavy_imports(*argv, heavy=(*NEVER, "matplotlib", "bot.report.simulation_report"))
    # the report module is there: the run got as far as writing its report
    assert "bot.report.simulation_report" in loaded, output
    assert not set(NEVER) & set(loaded), output
    if _cpus() >= 2:  # a second CPU: pnl.png is drawn by the worker process, not here
        assert "matplotlib" not in loaded, output
    reports = list((tmp_path / "reports").glob("sim-*/pnl.png"))
    assert len(reports) == 1 and reports[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
