"""The real CLI as a subprocess: --help, status, light imports, and bad input end to end."""

import json

import pytest

from testkit import heavy_imports, require_shared_data, run_cli, write_config


def test_help_lists_the_working_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "simulate" in result.stdout and "status" in result.stdout
    assert "SYNTHETIC" in result.stdout


@pytest.mark.parametrize("argv", [["--help"], ["status"], ["status", "--json"]])
def test_light_commands_never_import_heavy_libraries(argv, tmp_path):
    config = write_config(tmp_path)
    args = [*argv, "--config", str(config)] if argv[0] == "status" else argv
    heavy, output = heavy_imports(*args)
    assert heavy == [], output


def test_status_before_any_run(tmp_path):
    result = run_cli("status", "--json", "--config", str(write_config(tmp_path)))
    assert result.returncode == 0
    info = json.loads(result.stdout)
    assert info["last_run"] is None and info["positions"] == []


def test_simulate_on_the_sample_market_then_status(tmp_path):
    config = write_config(tmp_path)
    result = run_cli(
        "simulate",
        "--config",
        str(config),
        "--json",
        "--start",
        "2022-01-03",
        "--end",
        "2022-12-30",
        "--strategy",
        "sma_cross",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["synthetic"] is True and "mean nothing" in summary["note"]
    assert summary["source"] == "sample" and len(summary["symbols"]) == 5
    report = tmp_path / "reports" / f"sim-{summary['run_id']}"
    assert summary["report_dir"] == str(report)
    for name in ("metrics.json", "trades.csv", "equity.csv", "pnl.png"):
        assert (report / name).stat().st_size > 0, name
    assert (report / "pnl.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["final_equity"] == summary["final_equity"]

    status = run_cli("status", "--json", "--config", str(config))
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert info["last_run"]["run_id"] == summary["run_id"]
    assert info["last_run"]["status"] == "completed" and info["last_run"]["synthetic"] is True
    assert abs(info["equity"]["equity"] - summary["final_equity"]) < 0.01
    text = run_cli("status", "--config", str(config)).stdout
    assert summary["run_id"] in text and "SYNTHETIC" in text

    log_lines = (tmp_path / "logs" / "bot.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in log_lines]
    assert events and all(e["run_id"] == summary["run_id"] and e["mode"] == "simulate" for e in events)


def test_table_output_prints_the_report_paths(tmp_path):
    result = run_cli(
        "simulate",
        "--config",
        str(write_config(tmp_path)),
        "--strategy",
        "buy_and_hold",
        "--start",
        "2023-06-01",
        "--end",
        "2023-09-29",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "SYNTHETIC" in result.stdout and "buy and hold" in result.stdout
    plot_line = [line for line in result.stdout.splitlines() if line.startswith("plot:")][0]
    assert plot_line.endswith("pnl.png")


def _one_line_error(result, *fragments):
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def test_missing_data_folder(tmp_path):
    result = run_cli(
        "simulate", "--config", str(write_config(tmp_path)), "--source", f"csv:{tmp_path / 'nope'}"
    )
    _one_line_error(result, "does not exist", "nope")


def test_csv_with_missing_columns(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "ABC.csv").write_text("Date,Open,High,Close\n2020-01-02,1,2,1.5\n")
    result = run_cli("simulate", "--config", str(write_config(tmp_path)), "--source", f"csv:{data}")
    _one_line_error(result, "ABC.csv", "low")


def test_empty_date_range(tmp_path):
    daily = require_shared_data("daily")
    result = run_cli(
        "simulate",
        "--config",
        str(write_config(tmp_path)),
        "--source",
        f"csv:{daily}",
        "--symbols",
        "AAPL",
        "--start",
        "2030-01-01",
        "--end",
        "2030-02-01",
    )
    _one_line_error(result, "AAPL", "2030-01-01")


def test_reversed_dates_and_unknown_symbol(tmp_path):
    config = str(write_config(tmp_path))
    _one_line_error(
        run_cli("simulate", "--config", config, "--start", "2022-02-01", "--end", "2022-01-01"), "data.end"
    )
    _one_line_error(run_cli("simulate", "--config", config, "--symbols", "NOPE"), "NOPE")


def test_dirty_csv_is_cleaned_logged_and_simulated(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rows = ["Date,Open,High,Low,Close,Volume"]
    price = 100.0
    for day in range(1, 29):
        rows.append(f"2021-02-{day:02d},{price},{price + 1},{price - 1},{price + 0.5},1000")
        price += 0.5
    rows.insert(5, "2021-02-30,1,1,1,1,1")  # not a date -> a clear error names the line
    (data / "XYZ.csv").write_text("\n".join(rows) + "\n")
    _one_line_error(
        run_cli("simulate", "--config", str(write_config(tmp_path)), "--source", f"csv:{data}"),
        "XYZ.csv",
        "line 6",
    )
    del rows[5]
    rows[3] = "2021-02-03,nan,102,100,101.5,1000"  # NaN price
    rows[6] = "2021-02-05,-3,1,1,1,10"  # negative price
    rows += [rows[10], rows[2]]  # a duplicate and an out-of-order row
    (data / "XYZ.csv").write_text("\n".join(rows) + "\n")
    config = write_config(tmp_path)
    result = run_cli(
        "simulate", "--config", str(config), "--source", f"csv:{data}", "--strategy", "buy_and_hold", "--json"
    )
    assert result.returncode == 0, result.stderr
    assert "bars_cleaned" in result.stderr  # the console warning
    events = [json.loads(line) for line in (tmp_path / "logs" / "bot.jsonl").read_text().splitlines()]
    cleaned = [e for e in events if e["event"] == "bars_cleaned"][0]
    assert cleaned["nan_price"] == 1 and cleaned["non_positive_price"] == 1
    assert cleaned["duplicate_ts"] >= 1 and cleaned["out_of_order"] >= 1
    assert json.loads(result.stdout)["fills"] >= 1
