"""What a ``simulate`` process loads: never TensorFlow or the forecast package for a strategy
without a model, and no matplotlib where the plot worker draws (checked in a fresh interpreter's
``sys.modules``, like the light commands in test_cli.py; through ``main``, because the command's
own exit would end the process before ``sys.modules`` could be read)."""

import json
import subprocess
import sys

from testkit import REPO, cli_env, write_config

NEVER = ("tensorflow", "keras", "bot.forecast")


def test_sma_cross_simulation_imports_no_tensorflow_nor_the_forecast_package(tmp_path):
    config = write_config(tmp_path)
    argv = ["simulate", "--config", str(config), "--strategy", "sma_cross", "--json"]
    argv += ["--start", "2023-06-01", "--end", "2023-09-29"]
    code = (
        "import json, sys\n"
        "from bot.__main__ import main\n"
        f"code = main({argv!r})\n"
        "print('MODULES=' + json.dumps([code, sorted(sys.modules)]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=cli_env(), capture_output=True, text=True, timeout=300
    )
    marker = [line for line in result.stdout.splitlines() if line.startswith("MODULES=")]
    assert marker, result.stdout + result.stderr
    exit_code, modules = json.loads(marker[-1].removeprefix("MODULES="))
    assert exit_code == 0, result.stderr
    assert "bot.report.simulation_report" in modules  # the run got as far as its report
    assert not [m for m in modules if m.split(".")[0] in NEVER or m.startswith(NEVER)]
    # structlog is loaded without rich (bot/logging.py): no pretty-traceback stack either
    assert not [m for m in modules if m.split(".")[0] in ("rich", "pygments")]
    logged = [json.loads(line) for line in (tmp_path / "logs" / "bot.jsonl").read_text().splitlines()]
    finished = [e for e in logged if e["event"] == "simulation_finished"]
    assert len(finished) == 1
    if finished[0]["plot_worker"]:  # pnl.png drawn by the worker process (an idle CPU): not here
        assert not [m for m in modules if m.split(".")[0] == "matplotlib"]
    else:
        assert "matplotlib" in modules
    reports = list((tmp_path / "reports").glob("sim-*/pnl.png"))
    assert len(reports) == 1 and reports[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
