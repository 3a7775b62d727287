"""A disk that fills while the bot runs: one clear error, exit 2, the journal intact, the run
marked failed, no logging flood.

Two real ways to fill a disk:
- a 1 MiB tmpfs (a real full filesystem: ENOSPC) when this machine lets the test mount one (root
  with CAP_SYS_ADMIN), otherwise that test skips and says so;
- a file-size limit (``RLIMIT_FSIZE``) on the daemon's process, which works anywhere: every write
  past the limit fails (EFBIG), as writes to a full disk do.
"""

from __future__ import annotations

import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from testkit import cli_env, run_cli, write_config

MINUTE_SAMPLE = """
[data]
timeframe = "1Min"
[daemon]
heartbeat_seconds = 0.5
"""


def journal_state(path: Path) -> tuple[str, list[str]]:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0], [
            r[0] for r in db.execute("SELECT status FROM runs")
        ]


@pytest.fixture
def small_filesystem(tmp_path: Path):
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a small tmpfs here ({done.stderr.strip() or 'mount failed'}): needs root with "
            "CAP_SYS_ADMIN; the file-size-limit test covers the same path"
        )
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_simulation_whose_disk_fills_stops_with_one_line_and_an_intact_journal(
    small_filesystem: Path, tmp_path
):
    config = tmp_path / "config.toml"
    config.write_text(f"""
[journal]
path = "{small_filesystem / "journal.sqlite"}"
[logging]
dir = "{small_filesystem / "logs"}"
[report]
dir = "{tmp_path / "reports"}"
[data]
timeframe = "1Min"
""")
    result = run_cli(
        "simulate", "--config", str(config), "--source", "sample", "--strategy", "sma_cross", cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 3 and "Traceback" not in result.stderr and "Logging error" not in result.stderr, (
        lines
    )
    assert f"journal.path: {small_filesystem / 'journal.sqlite'} is on a full disk" in result.stderr
    assert journal_state(small_filesystem / "journal.sqlite") == ("ok", ["failed"])


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (1_500_000, 1_500_000))


def test_a_daemon_whose_journal_stops_taking_writes_stops_trading_and_says_so(tmp_path: Path):
    config = write_config(tmp_path, MINUTE_SAMPLE)
    config.write_text(config.read_text().replace("[journal]\n", "[journal]\nbatch_size = 50\n"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "run",
            "--dry-run",
            "--source",
            "sample",
            "--speed",
            "1e7",
            "--strategy",
            "sma_cross",
            "--config",
            str(config),
        ],
        cwd=tmp_path,
        env=cli_env(),
        preexec_fn=_limit_file_size,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "Logging error" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 6, done.stderr  # no flood: the cause, once
    assert f"error: journal.dry_run_path: {tmp_path / 'dry_run.sqlite'} cannot be used" in done.stderr
    assert "nothing more is traded; the run is marked failed" in done.stderr
    integrity, runs = journal_state(tmp_path / "dry_run.sqlite")
    assert integrity == "ok" and runs == ["failed"]
    with sqlite3.connect(
        tmp_path / "dry_run.sqlite"
    ) as db:  # what was journaled adds up: no half-written order
        orders = db.execute("SELECT client_order_id, status FROM orders ORDER BY rowid").fetchall()
    # every order is journaled before it is sent; only the last one may still be pending: the full
    # disk refused its answer, and a restart settles it (reconcile) instead of losing it
    assert orders and all(status != "pending" for _, status in orders[:-1]), orders
